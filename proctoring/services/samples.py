"""Samples: run the models on a batch of frames and audio windows, and record what they saw
(called by the analysis task)."""

import functools
import io
import logging
import wave
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from proctoring.analysis import audio, vision
from proctoring.models import EvidenceKind, ObservationKind
from proctoring.services import vad_carries
from proctoring.services.observations import (
    failed_observed,
    observations_record,
    observations_recorded,
)
from proctoring.services.observed import (
    EvidenceFile,
    ObservationKey,
    Observed,
    Sample,
    observation_key,
)

logger = logging.getLogger(__name__)

# Sub-window of the level meter: Silero's 32 ms step, so loud/quiet lines up with speech steps.
LEVEL_STEP_SAMPLES = audio.WINDOW_SAMPLES
LEVEL_DECIMALS = 1


@dataclass(frozen=True)
class MediaSample:
    """A sample as the ingest sent it: a JPEG frame, or 16 kHz mono int16 PCM."""

    kind: str
    sample: Sample
    content: bytes

    @property
    def key(self) -> ObservationKey:
        return observation_key(kind=self.kind, sample=self.sample)


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


def samples_analyze(*, samples: Sequence[MediaSample]) -> None:
    """Run the models on a batch and record what they saw, skipping what is recorded already.

    A batch holds samples of many attempts: a sample the models fail on is recorded as failed
    (its time is then an analysis gap of its own attempt, scored at finalize), and the rest of
    the batch is analysed as usual. Database errors still fail the batch, which is retried.
    """
    recorded = observations_recorded(keys=[s.key for s in samples])
    # A redelivered batch: the model already ran for these, and they are stored.
    fresh = [s for s in samples if s.key not in recorded]
    unknown = [s for s in fresh if s.kind not in (ObservationKind.VIDEO, ObservationKind.AUDIO)]
    for sample in unknown:
        logger.error(
            "session %s: sample of unknown kind %r dropped", sample.sample.session_id, sample.kind
        )
    frames = [s for s in fresh if s.kind == ObservationKind.VIDEO]
    windows = [s for s in fresh if s.kind == ObservationKind.AUDIO]
    observed = [_video_frame_observed(sample=f.sample, jpeg=f.content) for f in frames]
    observations_record(observed=observed + _audio_windows_observed(windows))


def _video_frame_observed(*, sample: Sample, jpeg: bytes) -> Observed:
    try:
        faces = [face.to_dict() for face in human_counter().detect(vision.decode_jpeg(jpeg))]
    except Exception as exc:  # the detector's errors are many; one bad frame stays one gap
        return failed_observed(kind=ObservationKind.VIDEO, sample=sample, error=exc)
    evidence = EvidenceFile(
        kind=EvidenceKind.PHOTO, extension="jpg", content=jpeg, data={"faces": faces}
    )
    data = {"count": len(faces), "faces": faces}
    return Observed(kind=ObservationKind.VIDEO, sample=sample, data=data, evidence=evidence)


def _audio_windows_observed(windows: Sequence[MediaSample]) -> list[Observed]:
    """The batch's audio windows through the VAD together (one model call per 32 ms step).

    Each session's consecutive windows are one stream, continuing from the carry (the VAD's
    state and the levels it was judging) the window before left, so a window never starts
    Silero from scratch in the middle of a word (docs/analysis.md, "Carry").
    """
    runs = _audio_runs(windows)
    carries = vad_carries.carries_before(
        [(str(run[0].sample.session_id), run[0].sample.seq) for run in runs]
    )
    pcms = {id(w): np.frombuffer(w.content, dtype=np.int16) for w in windows}
    streams = [
        audio.AudioStream([pcms[id(w)] for w in run], carry=carry)
        for run, carry in zip(runs, carries, strict=True)
    ]
    try:
        analysed = voice_detector().analyze_streams(streams)
    except Exception:  # one poisoned window: find it, and analyse the others on their own
        return [_audio_window_alone(w, pcms[id(w)]) for w in windows]
    vad_carries.carries_keep(
        {
            (str(run[-1].sample.session_id), run[-1].sample.seq): found[-1].carry
            for run, found in zip(runs, analysed, strict=True)
        }
    )
    return [
        _audio_window_observed(sample=w.sample, pcm=pcms[id(w)], data=analysis.to_dict())
        for run, found in zip(runs, analysed, strict=True)
        for w, analysis in zip(run, found, strict=True)
    ]


def _audio_runs(windows: Sequence[MediaSample]) -> list[list[MediaSample]]:
    """Each session's windows in seq order, cut where a seq is missing (a new stream there)."""
    ordered = sorted(windows, key=lambda w: (str(w.sample.session_id), w.sample.seq))
    runs: list[list[MediaSample]] = []
    for window in ordered:
        last = runs[-1][-1] if runs else None
        follows = (
            last is not None
            and str(last.sample.session_id) == str(window.sample.session_id)
            and window.sample.seq == last.sample.seq + 1
        )
        if follows:
            runs[-1].append(window)
        else:
            runs.append([window])
    return runs


def _audio_window_alone(window: MediaSample, pcm: np.ndarray) -> Observed:
    try:
        (analysis,) = voice_detector().analyze_many([pcm])
        return _audio_window_observed(sample=window.sample, pcm=pcm, data=analysis.to_dict())
    except Exception as exc:
        return failed_observed(kind=ObservationKind.AUDIO, sample=window.sample, error=exc)


def _audio_window_observed(*, sample: Sample, pcm: np.ndarray, data: dict) -> Observed:
    data["levels_dbfs"] = step_levels_dbfs(pcm)
    evidence = EvidenceFile(
        kind=EvidenceKind.AUDIO, extension="wav", content=wav_bytes(pcm), data={}
    )
    return Observed(kind=ObservationKind.AUDIO, sample=sample, data=data, evidence=evidence)


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.SAMPLE_RATE)
        out.writeframes(samples.astype(np.int16).tobytes())
    return buffer.getvalue()
