"""Celery tasks: thin adapters that decode their payload and call one service."""

import base64
import datetime as dt

from celery import shared_task
from django.db import DatabaseError

from proctoring.services import agent_events
from proctoring.services import analysis as analysis_service
from proctoring.services.analysis import MediaSample
from proctoring.services.observations import Sample
from proctoring.services.scoring import attempt_finalize

# Backoff stays under the broker visibility timeout, so a retried task is not delivered twice.
DB_RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 10,
}
FINALIZE_POLL_S = 0.5


@shared_task(acks_late=True, **DB_RETRY)
def analyze_samples(items: list[dict]) -> None:
    """A batch of video frames and audio windows, from any sessions of one media process.

    Each item: kind ("video" or "audio"), session_id, seq, media_time, duration_s, and content
    (base64 of a JPEG frame, or of 16 kHz mono int16 PCM). A retry or a redelivery runs the whole
    batch again; what was recorded the first time is skipped.
    """
    analysis_service.samples_analyze(samples=[_media_sample(item) for item in items])


def _media_sample(item: dict) -> MediaSample:
    sample = Sample(
        session_id=item["session_id"],
        seq=item["seq"],
        media_time=item["media_time"],
        duration_s=item["duration_s"],
    )
    return MediaSample(kind=item["kind"], sample=sample, content=base64.b64decode(item["content"]))


# The per-sample tasks of releases before batching. A rolling upgrade can leave their messages
# queued when new workers start; unregistered, they would be lost and the attempt scored
# "incomplete". Each runs as a batch of one. Remove once no such release is deployed.
@shared_task(acks_late=True, **DB_RETRY)
def analyze_video_frame(
    session_id: str, seq: int, media_time: float, duration_s: float, jpeg_b64: str
) -> None:
    analyze_samples([sample_item("video", session_id, seq, media_time, duration_s, jpeg_b64)])


@shared_task(acks_late=True, **DB_RETRY)
def analyze_audio_window(
    session_id: str, seq: int, media_time: float, duration_s: float, pcm_b64: str
) -> None:
    analyze_samples([sample_item("audio", session_id, seq, media_time, duration_s, pcm_b64)])


def sample_item(kind, session_id, seq, media_time, duration_s, content) -> dict:
    """One item of an `analyze_samples` batch, as the ingest sends it."""
    return {
        "kind": str(kind),
        "session_id": session_id,
        "seq": seq,
        "media_time": media_time,
        "duration_s": duration_s,
        "content": content,
    }


@shared_task(acks_late=True, **DB_RETRY)
def record_agent_event(
    session_id: str, key: str, code: int, received_at: str, detail: dict
) -> None:
    agent_events.agent_event_record(
        session_id=session_id,
        key=key,
        code=code,
        received_at=dt.datetime.fromisoformat(received_at),
        detail=detail,
    )


@shared_task(acks_late=True, **DB_RETRY)
def store_photo(session_id: str, media_time: float, kind: str, reason: str, jpeg_b64: str) -> None:
    agent_events.photo_store(
        session_id=session_id,
        media_time=media_time,
        kind=kind,
        reason=reason,
        jpeg=base64.b64decode(jpeg_b64),
    )


@shared_task(bind=True, acks_late=True, max_retries=None)
def finalize_attempt(self, attempt_id: int) -> None:
    try:
        done = attempt_finalize(attempt_id=attempt_id)
    except DatabaseError as exc:
        raise self.retry(exc=exc, countdown=FINALIZE_POLL_S * 4) from exc
    if not done:
        # Analysis still pending: poll again instead of blocking a worker.
        raise self.retry(countdown=FINALIZE_POLL_S)


from proctoring.tasks_webhooks import deliver_webhook, purge_expired  # noqa: E402,F401
