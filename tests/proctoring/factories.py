"""Model factories (factory_boy) and builders of attempts, sessions and observations in a given
state: the one place tests make their data."""

import datetime as dt

import cv2
import factory
import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from proctoring.models import Attempt, Evidence, MediaSession, Violation
from proctoring.services.clients import NewClient
from proctoring.services.observations import observations_record
from proctoring.services.observed import EvidenceFile, Observed, Sample
from proctoring.statuses import VIOLATION_CODES, AttemptStatus, EvidenceStatus

LIVE_NODE = "node-alive"


class AttemptFactory(DjangoModelFactory):
    """Pass `client=`; the traits `started` and `scored` put it in that state."""

    class Meta:
        model = Attempt

    test_attempt_id = factory.Sequence(lambda n: f"attempt-{n}")

    class Params:
        minutes_ago = 10
        minutes = 30
        started = factory.Trait(
            status=AttemptStatus.STARTED,
            started_at=factory.LazyAttribute(
                lambda o: timezone.now() - dt.timedelta(minutes=o.minutes_ago)
            ),
        )
        scored = factory.Trait(
            status=AttemptStatus.STOPPED,
            started_at=factory.LazyAttribute(
                lambda o: timezone.now() - dt.timedelta(minutes=o.minutes_ago)
            ),
            finished_at=factory.LazyAttribute(
                lambda o: o.started_at + dt.timedelta(minutes=o.minutes)
            ),
            trust_score=72.0,
            score_version="ts-1",
            evidence_status=EvidenceStatus.PROCESSED,
        )


class MediaSessionFactory(DjangoModelFactory):
    class Meta:
        model = MediaSession

    ingest_node = LIVE_NODE
    offset_s = 0.0


class ViolationFactory(DjangoModelFactory):
    """Code and wall-clock times follow the type and the attempt, as Violation.for_span does."""

    class Meta:
        model = Violation

    type = "multiple_humans"
    code = factory.LazyAttribute(lambda o: VIOLATION_CODES[o.type])
    start_s = 60.0
    end_s = 75.0
    started_at = factory.LazyAttribute(
        lambda o: o.attempt.started_at + dt.timedelta(seconds=o.start_s)
    )
    ended_at = factory.LazyAttribute(lambda o: o.attempt.started_at + dt.timedelta(seconds=o.end_s))
    details = factory.LazyFunction(dict)


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))
    assert ok
    return encoded.tobytes()


class EvidenceFactory(DjangoModelFactory):
    class Meta:
        model = Evidence

    type = "multiple_humans"
    kind = "photo"
    at_s = 60.0
    file = factory.LazyFunction(lambda: ContentFile(jpeg_bytes(), name="p.jpg"))
    data = factory.LazyFunction(dict)


# Only the camera is required (faces counted; no microphone, screen or photos): a test that
# records a frame a second from the start has full coverage.
CAMERA_ONLY = {
    "trackingOptions": {
        "audio": False,
        "photosAtRandom": False,
        "captureSwitchedTab": False,
        "tabSwitch": False,
    }
}


def started_attempt(
    new_client: NewClient,
    *,
    test_attempt_id="f-1",
    minutes_ago=10,
    seconds_ago: float | None = None,
    options: dict | None = None,
) -> Attempt:
    """Started `minutes_ago` (or `seconds_ago`); its options are stored complete, as a start
    stores them (none given: {} as before a start, which coverage reads as every check on)."""
    from proctoring.options import validate_options

    attempt = AttemptFactory(
        client=new_client.client,
        test_attempt_id=test_attempt_id,
        started=True,
        minutes_ago=minutes_ago if seconds_ago is None else seconds_ago / 60,
    )
    if options is not None:
        attempt.options = validate_options(options)
        attempt.save(update_fields=["options"])
    return attempt


def scored_attempt(
    new_client: NewClient,
    test_attempt_id="s-1",
    *,
    score=72.0,
    minutes=30,
    ago_days=0,
    lookup_key="k",
    review_reasons: list[str] | None = None,
) -> Attempt:
    """A scored attempt with two violations, a face-boxed photo and an audio clip. Its review
    reasons are given, or as finalize would give them for the score alone."""
    if review_reasons is None:
        review_reasons = ["low_score"] if score < settings.PROCTOR_REVIEW_THRESHOLD else []
    attempt = AttemptFactory(
        client=new_client.client,
        test_attempt_id=test_attempt_id,
        scored=True,
        minutes=minutes,
        minutes_ago=ago_days * 24 * 60 + minutes,
        trust_score=score,
        lookup_key=lookup_key,
        review_reasons=review_reasons,
        score_breakdown={
            "components": [
                {"type": "multiple_humans", "measure": 0.1, "weight": 40, "points_lost": 28.0}
            ]
        },
    )
    ViolationFactory(attempt=attempt, details={"max_count": 2})
    ViolationFactory(attempt=attempt, type="no_face", start_s=300.0, end_s=310.0)
    faces = [{"box": [4, 4, 30, 40], "score": 0.9}, {"box": [34, 4, 60, 40]}]
    EvidenceFactory(attempt=attempt, data={"faces": faces})
    EvidenceFactory(
        attempt=attempt,
        type="speech",
        kind="audio",
        at_s=500.0,
        file=ContentFile(b"RIFF....WAVE", name="c.wav"),
    )
    return attempt


def open_session(attempt: Attempt, *, offset_s: float = 0.0, node: str = LIVE_NODE) -> MediaSession:
    return MediaSessionFactory(attempt=attempt, ingest_node=node, offset_s=offset_s)


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
