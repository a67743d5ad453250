"""Media sessions: one WebRTC connection of an attempt each. Closing them as the media process
reports, reaping those of a crashed media process, and the offline time between them."""

import datetime as dt
import logging
import uuid
from typing import Any

import redis
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone

import protocol
from proctoring import media_rpc
from proctoring.models import Attempt, MediaSession, Observation
from proctoring.services.violations import violation_span_record
from proctoring.statuses import ViolationType

logger = logging.getLogger(__name__)

# A resume this long after the last analysed sample is an offline gap (a reconnect is faster).
OFFLINE_MIN_S = 3.0
# Spans per stream kept from a close report: a stream that stops and starts more often than this
# in one session is cut off there (its later media then reads as missing, never as covered).
MAX_DELIVERED_SPANS = 10_000


@transaction.atomic
def media_session_closed(
    *,
    session_id: uuid.UUID | str,
    samples_enqueued: int,
    reason: str,
    ended_at: dt.datetime,
    dropped: list[tuple[float, float]],
    delivered: dict[str, list[list[float]]],
    recording: str | None,
    bad_messages: int = 0,
) -> None:
    """What the media process reports when a session closes: the samples it handed over (finalize
    waits for that many), what each stream delivered (coverage is measured against it: a sample
    delivered but never analysed is an analysis gap), and the recording it stored. A redelivered
    report changes nothing."""
    closed = media_session_close(
        session_id=session_id, samples_enqueued=samples_enqueued, reason=reason, ended_at=ended_at
    )
    if not closed:
        return
    if dropped:
        logger.error("session %s: %d samples were dropped, not analysed", session_id, len(dropped))
    fields = {"delivered": _bounded_spans(delivered), "bad_messages": max(0, bad_messages)}
    if bad_messages:
        logger.warning("session %s: %d client messages were refused", session_id, bad_messages)
    if recording:
        fields["recording"] = recording
    MediaSession.objects.filter(pk=session_id).update(**fields)


def _bounded_spans(delivered: dict[str, list[list[float]]]) -> dict[str, list[list[float]]]:
    """Known streams only, as [start, end] pairs of numbers: the report crossed a broker."""
    clean: dict[str, list[list[float]]] = {}
    for stream in protocol.streams():
        spans = delivered.get(stream) or []
        clean[stream] = [
            [float(start), float(end)]
            for start, end in spans[:MAX_DELIVERED_SPANS]
            if isinstance(start, int | float) and isinstance(end, int | float) and end >= start
        ]
    return clean


def media_session_close(
    *,
    session_id: uuid.UUID | str,
    samples_enqueued: int,
    reason: str,
    ended_at: dt.datetime | None = None,
) -> bool:
    """Close the session with the number of samples handed over; finalize waits for that many.
    False when it was closed already."""
    updated = MediaSession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=ended_at or timezone.now(),
        samples_enqueued=samples_enqueued,
        close_reason=reason[:64],
    )
    if updated:
        logger.info("session %s closed (%s): %d samples", session_id, reason, samples_enqueued)
    return bool(updated)


def media_sessions_reap(*, attempt: Attempt) -> int:
    """Close the open sessions of ingest processes that stopped heartbeating (they crashed).

    What they analysed stays; what they had not handed over is lost with them, and the time
    without media shows as an offline gap when the agent resumes. What they had handed over is
    still waited for: a worker that died with it (the same host lost) gives it back after the
    broker's visibility timeout, and finalize must not score before then (decisions/0017).
    """
    try:
        alive = set(media_rpc.live_nodes(media_rpc.sync_redis()))
        orphans = list(
            attempt.sessions.filter(ended_at__isnull=True).exclude(ingest_node__in=alive)
        )
        sent = _samples_sent(orphans)
    except redis.RedisError:
        return 0  # cannot tell a dead ingest from an unreachable Redis: leave them to finalize
    observed = MediaSession.objects.filter(pk__in=[s.pk for s in orphans]).annotate(
        observed=Count("observations"),
        last_end=Max(F("observations__attempt_time") + F("observations__duration_s")),
    )
    for session in observed:
        # Its media ended with the last sample analysed, not when the crash was noticed.
        last_s = session.last_end if session.last_end is not None else session.offset_s
        media_session_close(
            session_id=session.pk,
            samples_enqueued=max(session.observed, sent.get(str(session.pk), 0)),
            reason="ingest_lost",
            ended_at=attempt.started_at + dt.timedelta(seconds=last_s),
        )
    return len(orphans)


def _samples_sent(sessions: list[MediaSession]) -> dict[str, int]:
    """What each dead ingest last said its sessions had handed to the broker."""
    by_node: dict[str, list[str]] = {}
    for session in sessions:
        if session.ingest_node:
            by_node.setdefault(session.ingest_node, []).append(str(session.pk))
    sent: dict[str, int] = {}
    for node, session_ids in by_node.items():
        sent.update(media_rpc.samples_sent(node=node, session_ids=session_ids))
    return sent


def media_sessions_close_previous(*, attempt: Attempt, reason: str = "replaced") -> None:
    """The agent replaced its connection: tell the ingest to close what may still be open."""
    media_sessions_reap(attempt=attempt)
    stale = [(s.ingest_node, s.id) for s in attempt.sessions.filter(ended_at__isnull=True)]

    def close_them() -> None:
        for node, session_id in stale:
            if node:
                media_rpc.request_close(node=node, session_id=session_id, reason=reason)

    transaction.on_commit(close_them)


def offline_gap_record(*, attempt: Attempt, until_s: float) -> None:
    """A resume after a cut: the time since the last analysed sample is recorded as offline."""
    ends = Observation.objects.filter(attempt=attempt).annotate(
        end=F("attempt_time") + F("duration_s")
    )
    last = ends.aggregate(last=Max("end"))["last"]
    since_s = last if last is not None else 0.0
    if _record_offline(attempt, since_s=since_s, until_s=until_s):
        logger.info("attempt %s: offline for %.1f s before resuming", attempt.pk, until_s - since_s)


def unmonitored_tail_record(*, attempt: Attempt, until_s: float) -> None:
    """No media since the last session closed (its connection was lost and never resumed): the
    time up to the stop is offline, not a quiet candidate. A normal stop closes the connection
    about a second before the stop request, well under OFFLINE_MIN_S."""
    last_end = attempt.sessions.aggregate(last=Max("ended_at"))["last"]
    if last_end is None:
        return
    since_s = max(0.0, (last_end - attempt.started_at).total_seconds())
    reason = "no media after the connection closed"
    if _record_offline(attempt, since_s=since_s, until_s=until_s, reason=reason):
        gap = until_s - since_s
        logger.warning("attempt %s: no media for the last %.1f s before stop", attempt.pk, gap)


def _record_offline(attempt: Attempt, *, since_s: float, until_s: float, **details: Any) -> bool:
    """An offline violation over [since_s, until_s], if the gap is long enough to be one."""
    gap = until_s - since_s
    if gap < OFFLINE_MIN_S:
        return False
    violation_span_record(
        attempt=attempt,
        type=ViolationType.OFFLINE,
        start_s=since_s,
        end_s=until_s,
        details={"seconds": round(gap, 1), **details},
    )
    return True
