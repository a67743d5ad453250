"""Model inference on batches of samples (the `analysis` queue)."""

import base64

from celery import shared_task

from proctoring import messages
from proctoring.services.observed import Sample
from proctoring.services.samples import MediaSample, samples_analyze
from proctoring.tasks.retry import DB_RETRY


@shared_task(name=messages.ANALYZE_SAMPLES, acks_late=True, **DB_RETRY)
def analyze_samples(items: list[dict]) -> None:
    """A batch of video frames and audio windows, from any sessions of one media process.

    Each item is messages.sample_item(). A retry or a redelivery runs the whole batch again;
    what was recorded the first time is skipped.
    """
    samples_analyze(samples=[_media_sample(item) for item in items])


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
@shared_task(name=messages.ANALYZE_VIDEO_FRAME, acks_late=True, **DB_RETRY)
def analyze_video_frame(
    session_id: str, seq: int, media_time: float, duration_s: float, jpeg_b64: str
) -> None:
    analyze_samples([_legacy_item("video", session_id, seq, media_time, duration_s, jpeg_b64)])


@shared_task(name=messages.ANALYZE_AUDIO_WINDOW, acks_late=True, **DB_RETRY)
def analyze_audio_window(
    session_id: str, seq: int, media_time: float, duration_s: float, pcm_b64: str
) -> None:
    analyze_samples([_legacy_item("audio", session_id, seq, media_time, duration_s, pcm_b64)])


def _legacy_item(kind, session_id, seq, media_time, duration_s, content) -> dict:
    return messages.sample_item(
        kind=kind,
        session_id=session_id,
        seq=seq,
        media_time=media_time,
        duration_s=duration_s,
        content=content,
    )
