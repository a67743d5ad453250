"""The messages between the server's own processes: Celery task names and payloads, media RPC.

The media process imports only this module from the rest of the server (besides Django's
settings and file storage). It sends tasks by name, so it never loads the workers' task code,
the services or the analysis models. Plain Python: no Django, no Celery.
"""

from enum import StrEnum
from typing import Any

# --- Celery tasks, by name ----------------------------------------------------------------------
# The names of releases before the tasks package, kept: a rolling upgrade may leave messages with
# these names queued when new workers start, and an unknown name would lose them.
ANALYZE_SAMPLES = "proctoring.tasks.analyze_samples"
# Per-sample tasks of releases before batching; still consumed during an upgrade.
ANALYZE_VIDEO_FRAME = "proctoring.tasks.analyze_video_frame"
ANALYZE_AUDIO_WINDOW = "proctoring.tasks.analyze_audio_window"
RECORD_AGENT_EVENT = "proctoring.tasks.record_agent_event"
STORE_PHOTO = "proctoring.tasks.store_photo"
MEDIA_SESSION_CLOSED = "proctoring.tasks.media_session_closed"
FINALIZE_ATTEMPT = "proctoring.tasks.finalize_attempt"
RESCORE_LATE_EVIDENCE = "proctoring.tasks.rescore_late_evidence"
STOP_ABANDONED = "proctoring.tasks.stop_abandoned_attempts"
DELIVER_WEBHOOK = "proctoring.tasks_webhooks.deliver_webhook"
PURGE_EXPIRED = "proctoring.tasks_webhooks.purge_expired"

DEFAULT_QUEUE = "default"
# Model inference: CPU-heavy, on workers of its own.
ANALYSIS_QUEUE = "analysis"
ANALYSIS_TASKS = (ANALYZE_SAMPLES, ANALYZE_VIDEO_FRAME, ANALYZE_AUDIO_WINDOW)


class SampleKind(StrEnum):
    VIDEO = "video"  # content: base64 of a JPEG frame
    AUDIO = "audio"  # content: base64 of 16 kHz mono int16 PCM


def sample_item(
    *, kind: str, session_id: str, seq: int, media_time: float, duration_s: float, content: str
) -> dict[str, Any]:
    """One item of an ANALYZE_SAMPLES batch: the task receives a list of these."""
    return {
        "kind": str(kind),
        "session_id": str(session_id),
        "seq": seq,
        "media_time": media_time,
        "duration_s": duration_s,
        "content": content,
    }


def session_closed(
    *,
    session_id: str,
    samples_enqueued: int,
    reason: str,
    ended_at: str,
    dropped: list[tuple[float, float]],
    delivered: dict[str, list[list[float]]],
    recording: str | None,
    bad_messages: int = 0,
) -> dict[str, Any]:
    """The MEDIA_SESSION_CLOSED payload: when the connection ended (ISO 8601, the media process's
    clock), how many samples went to the workers (finalize waits for that many), the media spans
    of samples that never reached them, what each stream delivered (media-time spans, for
    coverage), and the stored recording's name."""
    return {
        "session_id": str(session_id),
        "samples_enqueued": samples_enqueued,
        "reason": reason,
        "ended_at": ended_at,
        "dropped": [[start, end] for start, end in dropped],
        "delivered": delivered,
        "bad_messages": bad_messages,
        "recording": recording,
    }


# Where the media process stores a session's recording (strftime of the close time, UTC).
RECORDING_FOLDER = "recordings/%Y/%m/%d"


# --- Media RPC over Redis -----------------------------------------------------------------------
# The web places an offer on the list of the least loaded live media process (decisions/0017);
# one that does not take it within OFFER_PICKUP_S (dead, or full) loses it to the next, and
# when none takes it the offer goes on the shared list, which every media process with room
# reads too. The process that answered owns the session and reads its control messages from
# its own list.
OFFERS_KEY = "proctor:ingest:offers"
NODE_OFFERS_KEY = "proctor:ingest:offers:{node}"
OFFER_PICKUP_S = 1.0
NODES_KEY = "proctor:ingest:nodes"
# Per media process, with its heartbeat: its sessions, plus the offers it is answering. The web
# adds one for each offer it places, until the next heartbeat says the truth.
LOAD_KEY = "proctor:ingest:load"
# Per media process, with its heartbeat: session id -> unix time of the last media it received.
LIVE_KEY = "proctor:ingest:live:{node}"
LIVE_TTL_S = 10
# Per media process, with its heartbeat: session id -> samples handed to the broker so far. When
# the process dies, this is what the server waits for (a dead worker may hold some of them until
# the broker's visibility timeout); it outlives the process by far more than that timeout.
SENT_KEY = "proctor:ingest:sent:{node}"
SENT_TTL_S = 3600
REPLY_KEY = "proctor:ingest:reply:{session_id}"
CONTROL_KEY = "proctor:ingest:control:{node}"
# A node that has not sent a heartbeat for this long is considered gone.
NODE_STALE_S = 6.0
HEARTBEAT_INTERVAL_S = 2.0
REPLY_TTL_S = 60
# A control list whose media process died is never read: let it expire.
CONTROL_TTL_S = 3600


class ControlOp(StrEnum):
    CLOSE = "close"  # close the session's peer connection (stop, or replaced by a resume)
    PUSH = "push"  # send a message to the client's events channel
    SAMPLE_NOW = "sample_now"  # sample the camera's next frame (confirm a flagged one sooner)


def offer(
    *,
    session_id: str,
    offer: dict[str, str],
    roles: dict[str, str],
    analyse: dict[str, bool],
    record: bool,
    reply_to: str,
    expires_at: float,
) -> dict[str, Any]:
    """What a web worker puts on a media process's offer list. `roles`: stream role -> mid of
    the offer; `analyse`: which of camera and microphone the workers analyse (the attempt's
    options), the others are only received (and counted for coverage)."""
    return {
        "session_id": str(session_id),
        "offer": offer,
        "roles": roles,
        "analyse": analyse,
        "record": record,
        "reply_to": reply_to,
        "expires_at": expires_at,
    }


def session_replaced(reason: str) -> dict[str, str]:
    """Told to a client whose session another one took over: it must not reconnect."""
    return {"type": "session_replaced", "reason": reason}


# Refusals a media process answers an offer with, besides {"ok": true, "node", "answer"}.
REFUSED_INVALID_SDP = "invalid_sdp"
REFUSED_RECORDING = "recording_unavailable"
