"""Attempts as the review desk sees them: a real Trust Score breakdown, coverage, a candidate's
name, many violations with evidence, and a real WebM session recording (VP8 + Opus, written with
PyAV as the ingest's MediaRecorder writes it)."""

import fractions
import tempfile
from pathlib import Path

import av
import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile

from proctoring.models import Attempt, MediaSession
from proctoring.services.clients import NewClient
from tests.proctoring.factories import EvidenceFactory, ViolationFactory, scored_attempt
from trust_score import ViolationSpan, score

RECORDING_FPS = 10
RECORDING_SIZE = (320, 240)
AUDIO_RATE = 48000
AUDIO_FRAME = 960


def webm_bytes(seconds: int = 20) -> bytes:
    """A WebM whose picture changes every frame (a bar grows) and whose sound is a 440 Hz tone."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.webm"
        out = av.open(str(path), "w", format="webm")
        video = out.add_stream("libvpx", rate=RECORDING_FPS)
        video.width, video.height = RECORDING_SIZE
        video.pix_fmt = "yuv420p"
        video.bit_rate = 200_000
        sound = out.add_stream("libopus", rate=AUDIO_RATE)
        sound.layout = "mono"
        _write_video(out, video, seconds)
        _write_audio(out, sound, seconds)
        for stream in (video, sound):
            for packet in stream.encode():
                out.mux(packet)
        out.close()
        return path.read_bytes()


def _write_video(out, stream, seconds: int) -> None:
    width, height = RECORDING_SIZE
    for i in range(seconds * RECORDING_FPS):
        image = np.full((height, width, 3), 40, np.uint8)
        image[:, : (i * 3) % width] = (200, 60, 60)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, fractions.Fraction(1, RECORDING_FPS)
        for packet in stream.encode(frame):
            out.mux(packet)


def _write_audio(out, stream, seconds: int) -> None:
    t = np.arange(AUDIO_FRAME)
    for i in range(seconds * AUDIO_RATE // AUDIO_FRAME):
        wave = (np.sin((t + i * AUDIO_FRAME) * 2 * np.pi * 440 / AUDIO_RATE) * 3000).astype(
            np.int16
        )
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts, frame.time_base = i * AUDIO_FRAME, fractions.Fraction(1, AUDIO_RATE)
        for packet in stream.encode(frame):
            out.mux(packet)


def recorded_session(attempt: Attempt, *, seconds: int = 20, offset_s: float = 0.0) -> MediaSession:
    session = MediaSession.objects.create(attempt=attempt, offset_s=offset_s, ingest_node="done")
    session.recording.save("session.webm", ContentFile(webm_bytes(seconds)), save=True)
    return session


SPANS = [
    ("multiple_humans", 3.0, 7.0),
    ("no_face", 9.0, 12.0),
    ("speech", 13.0, 50.0),  # longer than the 30 s clip cap
]


def desk_attempt(
    new_client: NewClient,
    test_attempt_id: str = "desk-1",
    *,
    name: str = "Ada Lovelace",
    extra_violations: int = 0,
    recording: bool = False,
    minutes: int = 1,
) -> Attempt:
    """A stopped attempt scored by the real scorer over its violations, full camera coverage."""
    attempt = scored_attempt(new_client, test_attempt_id, minutes=minutes, lookup_key="exam-42")
    attempt.violations.all().delete()
    attempt.evidence.all().delete()
    spans = list(SPANS) + [("tab_switch", 20.0 + i, 20.0 + i) for i in range(extra_violations)]
    for kind, start, end in spans:
        ViolationFactory(attempt=attempt, type=kind, start_s=start, end_s=end)
        EvidenceFactory(
            attempt=attempt,
            type=kind,
            kind="audio" if kind == "speech" else "photo",
            at_s=start,
            file=ContentFile(b"RIFF....WAVE", name="c.wav") if kind == "speech" else _photo(),
            data={} if kind == "speech" else {"faces": [{"box": [4, 4, 30, 40], "score": 0.9}]},
        )
    result = score(
        violations=[ViolationSpan(k, s, e) for k, s, e in spans], test_seconds=minutes * 60.0
    )
    attempt.trust_score = result.score
    attempt.score_version = result.version
    attempt.score_breakdown = result.to_dict()
    attempt.review_reasons = ["second_person"]
    if result.score < settings.PROCTOR_REVIEW_THRESHOLD:
        attempt.review_reasons.insert(0, "low_score")
    attempt.user_details = {"name": name, "email": "ada@example.org"}
    attempt.coverage = {
        stream: {
            "required": True,
            "analysed_s": minutes * 60.0,
            "delivered_s": minutes * 60.0,
            "ratio": 1.0,
        }
        for stream in ("camera", "microphone")
    }
    attempt.save()
    if recording:
        recorded_session(attempt)
    return attempt


def _photo() -> ContentFile:
    from tests.proctoring.factories import jpeg_bytes

    return ContentFile(jpeg_bytes(), name="p.jpg")
