"""Run the models on one sample and record what they saw (called by the analysis tasks)."""

import functools
import io
import wave

import numpy as np
from django.conf import settings

from proctoring.analysis import audio, vision
from proctoring.models import EvidenceKind, ObservationKind
from proctoring.services.observations import (
    EvidenceFile,
    Sample,
    observation_exists,
    observation_record,
)

# Sub-window of the level meter: Silero's 32 ms step, so loud/quiet lines up with speech steps.
LEVEL_STEP_SAMPLES = audio.WINDOW_SAMPLES
LEVEL_DECIMALS = 1


@functools.cache
def human_counter() -> vision.HumanCounter:
    """One detector per worker process, loaded on first use and kept."""
    return vision.load_counter(
        settings.PROCTOR_DETECTOR,
        model_dir=settings.PROCTOR_MODEL_DIR,
        main_input=vision.parse_input_size(settings.PROCTOR_DETECTOR_INPUT),
    )


@functools.cache
def voice_detector() -> audio.VoiceActivityDetector:
    return audio.load_vad()


def step_levels_dbfs(pcm: np.ndarray) -> list[float]:
    """The level of every 32 ms step: tells a sustained noise from clicks and knocks."""
    steps = len(pcm) // LEVEL_STEP_SAMPLES
    return [
        round(
            audio.dbfs(pcm[i * LEVEL_STEP_SAMPLES : (i + 1) * LEVEL_STEP_SAMPLES]), LEVEL_DECIMALS
        )
        for i in range(steps)
    ]


def video_frame_analyze(*, sample: Sample, jpeg: bytes) -> None:
    if observation_exists(sample=sample, kind=ObservationKind.VIDEO):
        return  # a redelivered task: the model already ran for this frame
    faces = [face.to_dict() for face in human_counter().detect(vision.decode_jpeg(jpeg))]
    data = {"count": len(faces), "faces": faces}
    evidence = EvidenceFile(
        kind=EvidenceKind.PHOTO, extension="jpg", content=jpeg, data={"faces": faces}
    )
    observation_record(sample=sample, kind=ObservationKind.VIDEO, data=data, evidence=evidence)


def audio_window_analyze(*, sample: Sample, pcm: bytes) -> None:
    if observation_exists(sample=sample, kind=ObservationKind.AUDIO):
        return
    samples = np.frombuffer(pcm, dtype=np.int16)
    data = voice_detector().analyze(samples).to_dict()
    data["levels_dbfs"] = step_levels_dbfs(samples)
    evidence = EvidenceFile(
        kind=EvidenceKind.AUDIO, extension="wav", content=wav_bytes(samples), data={}
    )
    observation_record(sample=sample, kind=ObservationKind.AUDIO, data=data, evidence=evidence)


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.SAMPLE_RATE)
        out.writeframes(samples.astype(np.int16).tobytes())
    return buffer.getvalue()
