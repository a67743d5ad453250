"""Factories for attempts, sessions and observations in a given state."""

import datetime as dt

from django.utils import timezone

from proctoring.models import Attempt, MediaSession
from proctoring.services.clients import NewClient
from proctoring.services.observations import EvidenceFile, Observed, Sample, observations_record
from proctoring.statuses import AttemptStatus


def started_attempt(new_client: NewClient, *, test_attempt_id="f-1", minutes_ago=10) -> Attempt:
    started = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Attempt.objects.create(
        client=new_client.client,
        test_attempt_id=test_attempt_id,
        status=AttemptStatus.STARTED,
        started_at=started,
    )


LIVE_NODE = "node-alive"


def open_session(attempt: Attempt, *, offset_s: float = 0.0, node: str = LIVE_NODE) -> MediaSession:
    return MediaSession.objects.create(attempt=attempt, ingest_node=node, offset_s=offset_s)


def face_data(count: int, *, score: float = 0.8) -> dict:
    faces = [{"box": [10.0 * i, 10.0, 10.0 * i + 50, 60.0], "score": score} for i in range(count)]
    return {"count": count, "faces": faces}


def sample_at(session, seq: int) -> Sample:
    """Sample `seq` of the session, one per second from media time 0."""
    return Sample(session_id=session.id, seq=seq, media_time=float(seq), duration_s=1.0)


def frame_observed(session, seq: int, faces: int, *, evidence: EvidenceFile | None = None):
    data = face_data(faces)
    return Observed(kind="video", sample=sample_at(session, seq), data=data, evidence=evidence)


def audio_observed(session, seq: int, data: dict) -> Observed:
    return Observed(kind="audio", sample=sample_at(session, seq), data=data)


def record_frame(session, seq: int, faces: int, *, evidence: EvidenceFile | None = None) -> None:
    """Record one frame as a batch of its own."""
    observations_record(observed=[frame_observed(session, seq, faces, evidence=evidence)])


def audio_data(*, speech: bool, dbfs: float, levels: list[float] | None = None) -> dict:
    return {
        "speech_prob_max": 0.99 if speech else 0.01,
        "speech_prob_mean": 0.8 if speech else 0.0,
        "speech_fraction": 0.8 if speech else 0.0,
        "dbfs": dbfs,
        "duration_s": 1.0,
        "levels_dbfs": levels if levels is not None else [dbfs] * 31,
    }


def record_audio(session, seq: int, data: dict) -> None:
    observations_record(observed=[audio_observed(session, seq, data)])
