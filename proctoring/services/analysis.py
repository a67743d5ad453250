"""Run the models on one sample and record what they saw (called by the analysis tasks)."""

import functools

import numpy as np
from django.conf import settings

from proctoring.analysis import audio, vision
from proctoring.models import ObservationKind
from proctoring.services.observations import Finding, Sample, observation_exists, observation_record
from proctoring.statuses import ViolationType

# More faces than this is a "multiple humans" violation; fewer than MIN is "no face".
MAX_HUMANS = 1
MIN_HUMANS = 1
# An audio window without speech this loud (dBFS) is "noise". Issue #4 replaces this fixed
# level with one relative to a calibrated background.
NOISE_DBFS = -30.0


@functools.cache
def human_counter() -> vision.HumanCounter:
    """One detector per worker process, loaded on first use and kept."""
    return vision.load_counter(settings.PROCTOR_DETECTOR, model_dir=settings.PROCTOR_MODEL_DIR)


@functools.cache
def voice_detector() -> audio.VoiceActivityDetector:
    return audio.load_vad()


def classify_faces(count: int) -> Finding | None:
    if count < MIN_HUMANS:
        return Finding(type=ViolationType.NO_FACE, details={"faces": count})
    if count > MAX_HUMANS:
        return Finding(type=ViolationType.MULTIPLE_HUMANS, details={"faces": count})
    return None


def classify_audio(result: audio.AudioAnalysis) -> Finding | None:
    if audio.is_speech(result):
        return Finding(type=ViolationType.SPEECH, details={"speech_prob": result.speech_prob_max})
    if result.dbfs >= NOISE_DBFS:
        return Finding(type=ViolationType.NOISE, details={"dbfs": result.dbfs})
    return None


def video_frame_analyze(*, sample: Sample, jpeg: bytes) -> None:
    if observation_exists(sample=sample, kind=ObservationKind.VIDEO):
        return  # a redelivered task: the model already ran for this frame
    faces = human_counter().detect(vision.decode_jpeg(jpeg))
    data = {"count": len(faces), "faces": [face.to_dict() for face in faces]}
    observation_record(
        sample=sample, kind=ObservationKind.VIDEO, data=data, finding=classify_faces(len(faces))
    )


def audio_window_analyze(*, sample: Sample, pcm: bytes) -> None:
    if observation_exists(sample=sample, kind=ObservationKind.AUDIO):
        return
    result = voice_detector().analyze(np.frombuffer(pcm, dtype=np.int16))
    observation_record(
        sample=sample,
        kind=ObservationKind.AUDIO,
        data=result.to_dict(),
        finding=classify_audio(result),
    )
