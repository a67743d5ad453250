"""Samples: run the models on a batch of frames and audio windows, and record what they saw
(called by the analysis task)."""

import io
import logging
import wave
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from proctoring.analysis import audio, vision
from proctoring.models import EvidenceKind, MediaSession, ObservationKind
from proctoring.services import identity as identity_service
from proctoring.services import scoring, vad_carries
from proctoring.services.detectors import human_counter, voice_detector
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
    frames = sorted(
        (s for s in fresh if s.kind == ObservationKind.VIDEO),
        key=lambda f: (str(f.sample.session_id), f.sample.seq),
    )
    windows = [s for s in fresh if s.kind == ObservationKind.AUDIO]
    contexts = _identity_contexts(frames)
    seen = [
        _video_frame_observed(sample=f.sample, jpeg=f.content, identity=contexts) for f in frames
    ]
    observations_record(observed=[o for o, _ in seen] + _audio_windows_observed(windows))
    enrolling = [outcome for _, outcome in seen if outcome is not None]
    if enrolling:
        identity_service.enrolment_record(outcomes=enrolling)
    # Analysis of an attempt scored already (its worker was down past finalize's bound).
    scoring.late_evidence_note(session_ids={str(s.sample.session_id) for s in fresh})


def _identity_contexts(frames: Sequence[MediaSample]) -> dict:
    """The identity checks of the batch's attempts (issue #18): none without frames."""
    if not frames:
        return {}
    ids = {str(f.sample.session_id) for f in frames}
    sessions = MediaSession.objects.select_related("attempt").in_bulk(ids)
    return identity_service.identity_contexts({str(pk): s for pk, s in sessions.items()})


def _video_frame_observed(
    *, sample: Sample, jpeg: bytes, identity: dict
) -> tuple[Observed, identity_service.EnrolOutcome | None]:
    try:
        frame = vision.decode_jpeg(jpeg)
        found = human_counter().detect(frame)
    except Exception as exc:  # the detector's errors are many; one bad frame stays one gap
        return failed_observed(kind=ObservationKind.VIDEO, sample=sample, error=exc), None
    faces = [face.to_dict() for face in found]
    evidence = EvidenceFile(
        kind=EvidenceKind.PHOTO, extension="jpg", content=jpeg, data={"faces": faces}
    )
    data = {"count": len(faces), "faces": faces}
    checked = _frame_identity(identity.get(str(sample.session_id)), sample, frame, found)
    if checked.data is not None:
        data["identity"] = checked.data
    if checked.side_by_side is not None:
        # A different person: the evidence is the reference face beside the live one.
        evidence = EvidenceFile(
            kind=EvidenceKind.PHOTO,
            extension="jpg",
            content=checked.side_by_side,
            data={"identity": checked.data, "side_by_side": True},
        )
    observed = Observed(kind=ObservationKind.VIDEO, sample=sample, data=data, evidence=evidence)
    return observed, checked.enrol


def _frame_identity(context, sample: Sample, frame, found) -> identity_service.FrameIdentity:
    if context is None:
        return identity_service.FrameIdentity()
    try:
        return identity_service.frame_identity(
            context=context, sample=sample, frame=frame, faces=found
        )
    except Exception:  # the identity check must never cost the frame its face count
        logger.exception("session %s: identity check of frame %d failed", *_where(sample))
        return identity_service.FrameIdentity()


def _where(sample: Sample) -> tuple[str, int]:
    return str(sample.session_id), sample.seq


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
