"""Voice activity judged as the product judges it: per clip, per 1 s window, per category.

A clip is cut into the ingest's 1 s windows and each window is judged by `audio.is_speech`. The
modes differ in what a window knows of the audio before it:

- `whole clip`: the product with the VAD carry wired (issue #20): every window continues from
  the one before it, so the clip is heard as one stream.
- `windows + 1 s context`: the product when a window's carry is missing (the first window after
  a worker backlog, a lost window) but the ingest sends the second of audio before it.
- `fresh windows`: each window alone, with the held-level check and the 8 kHz pass: what the
  workers do when neither carry nor context is wired.
- `fresh windows, old rule`: the product before issue #20, for comparison: each window alone,
  no held-level check, no 8 kHz pass.

Windows are labelled from `speech_s` (where the words are) when a clip has it: speech when it
holds at least MIN_SPEECH_IN_WINDOW_S of words, not speech when it holds none, and not scored in
between. A clip labelled "no speech" has only non-speech windows.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from proctoring.analysis import audio
from proctoring.analysis.scores import ClassScore, class_score

__all__ = [
    "FRESH",
    "FRESH_OLD_RULE",
    "MODES",
    "WHOLE_CLIP",
    "WITH_CONTEXT",
    "VadReport",
    "VadResult",
    "WindowScore",
    "WindowVerdict",
    "audio_windows",
    "evaluate_vad",
    "window_analyses",
]

WHOLE_CLIP = "whole clip"
WITH_CONTEXT = "windows + 1 s context"
FRESH = "fresh windows"
FRESH_OLD_RULE = "fresh windows, old rule"
MODES = (WHOLE_CLIP, WITH_CONTEXT, FRESH, FRESH_OLD_RULE)
# What the ingest would send in front of a window when its carry is missing: the window before.
FALLBACK_CONTEXT_S = 1.0
# Audio cut as the ingest cuts it (proctoring/ingest/sampling.py): 1 s windows, and a final
# shorter window only if it holds at least 0.25 s.
AUDIO_WINDOW_S = 1.0
MIN_TAIL_WINDOW_S = 0.25
# A window with fewer seconds of words than this is an edge (a word's last syllable) and is not
# scored; the product's 10 % rule asks for about 0.1 s of voice.
MIN_SPEECH_IN_WINDOW_S = 0.2
SECONDS_PER_HOUR = 3600.0
MS_PER_S = 1000.0
TIME_PERCENTILE = 95
SHARED_CATEGORY = "shared media"

Segments = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class WindowVerdict:
    start_s: float
    seconds: float
    label: bool | None  # None: an edge window, or a speech clip without speech_s
    flagged: bool


@dataclass(frozen=True)
class WindowScore:
    """The per-window confusion matrix, and how much non-speech audio it covers."""

    speech_found: int  # speech windows judged speech
    speech_missed: int
    false_speech: int  # non-speech windows judged speech
    quiet: int  # non-speech windows judged not speech
    non_speech_s: float

    @property
    def recall(self) -> float | None:
        positives = self.speech_found + self.speech_missed
        return self.speech_found / positives if positives else None

    @property
    def false_per_hour(self) -> float | None:
        return (
            self.false_speech / self.non_speech_s * SECONDS_PER_HOUR if self.non_speech_s else None
        )

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "recall": self.recall, "false_per_hour": self.false_per_hour}


@dataclass(frozen=True)
class VadResult:
    """One clip in one mode: its label, the verdict (any window speech) and its windows."""

    item: str
    expected: bool
    predicted: bool
    ms: float
    category: str = SHARED_CATEGORY
    windows: tuple[WindowVerdict, ...] = ()
    utterances: int = 0  # stretches of words (speech_s segments) in the clip
    utterances_found: int = 0  # ... with a window over them judged speech

    @property
    def correct(self) -> bool:
        return self.predicted == self.expected


@dataclass(frozen=True)
class VadReport:
    """The VAD over all labelled clips in one mode."""

    mode: str
    results: tuple[VadResult, ...]

    @property
    def accuracy(self) -> float | None:
        return _mean([result.correct for result in self.results])

    @property
    def mean_ms(self) -> float | None:
        return _mean([result.ms for result in self.results])

    @property
    def p95_ms(self) -> float | None:
        times = [result.ms for result in self.results]
        return float(np.percentile(times, TIME_PERCENTILE)) if times else None

    @property
    def failures(self) -> tuple[VadResult, ...]:
        return tuple(result for result in self.results if not result.correct)

    @property
    def speech(self) -> ClassScore:
        return class_score(
            [result.expected for result in self.results],
            [result.predicted for result in self.results],
        )

    def windows(self, category: str | None = None) -> WindowScore:
        """The confusion matrix over every scored window (of one category, if given)."""
        verdicts = [
            window
            for result in self.results
            if category is None or result.category == category
            for window in result.windows
            if window.label is not None
        ]
        return WindowScore(
            speech_found=sum(w.label and w.flagged for w in verdicts),
            speech_missed=sum(w.label and not w.flagged for w in verdicts),
            false_speech=sum(not w.label and w.flagged for w in verdicts),
            quiet=sum(not w.label and not w.flagged for w in verdicts),
            non_speech_s=sum(w.seconds for w in verdicts if not w.label),
        )

    def categories(self) -> list[str]:
        return list(dict.fromkeys(result.category for result in self.results))

    def utterances(self, category: str) -> tuple[int, int]:
        """(found, total) stretches of words in the category's clips."""
        chosen = [result for result in self.results if result.category == category]
        return sum(r.utterances_found for r in chosen), sum(r.utterances for r in chosen)

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "speech": self.speech.to_dict(),
            "items": len(self.results),
            "accuracy": self.accuracy,
            "mean_ms": self.mean_ms,
            "p95_ms": self.p95_ms,
            "windows": self.windows().to_dict(),
            "categories": {
                category: {
                    "windows": self.windows(category).to_dict(),
                    "utterances": dict(
                        zip(("found", "total"), self.utterances(category), strict=True)
                    ),
                }
                for category in self.categories()
            },
            "results": [{**asdict(result), "correct": result.correct} for result in self.results],
        }


@dataclass(frozen=True)
class LabelledClip:
    item: str  # name in the report
    path: Path
    speech: bool
    segments: Segments | None  # where the words are; None when not labelled
    category: str = SHARED_CATEGORY


def evaluate_vad(
    clips: Sequence[LabelledClip],
    vad: audio.VoiceActivityDetector,
    *,
    old_vad: audio.VoiceActivityDetector | None = None,
) -> tuple[VadReport, ...]:
    """Every clip judged in every mode (MODES); `old_vad` (no 8 kHz pass) for the old rule."""
    old_vad = old_vad or audio.load_vad(narrowband_pass=False)
    results: dict[str, list[VadResult]] = {mode: [] for mode in MODES}
    for clip in clips:
        pcm = audio.read_wav(clip.path)
        for mode in MODES:
            detector = old_vad if mode == FRESH_OLD_RULE else vad
            results[mode].append(_judge(detector, clip, pcm, mode))
    return tuple(VadReport(mode, tuple(results[mode])) for mode in MODES)


def audio_windows(pcm: np.ndarray) -> list[np.ndarray]:
    """The clip cut into the ingest's windows: 1 s each, a tail only if it is long enough."""
    size = round(AUDIO_WINDOW_S * audio.SAMPLE_RATE)
    windows = [pcm[start : start + size] for start in range(0, pcm.size, size)]
    if windows and windows[-1].size < MIN_TAIL_WINDOW_S * audio.SAMPLE_RATE:
        windows.pop()
    return windows or [pcm]  # a clip shorter than the minimum tail is still judged, whole


def window_analyses(
    vad: audio.VoiceActivityDetector, pcm: np.ndarray, mode: str
) -> list[audio.AudioAnalysis]:
    """Each window's analysis in `mode`: what a worker would have computed."""
    windows = audio_windows(pcm)
    if mode == WHOLE_CLIP:
        return vad.analyze_streams([audio.AudioStream(windows)])[0]
    if mode == WITH_CONTEXT:
        size = round(AUDIO_WINDOW_S * audio.SAMPLE_RATE)
        context = round(FALLBACK_CONTEXT_S * audio.SAMPLE_RATE)
        contexts = [pcm[max(0, i * size - context) : i * size] for i in range(len(windows))]
        return vad.analyze_many(windows, contexts=[c if c.size else None for c in contexts])
    if mode in (FRESH, FRESH_OLD_RULE):
        return vad.analyze_many(windows)
    raise ValueError(f"unknown VAD mode {mode!r}")


def segments_of(entry: Mapping[str, object]) -> Segments | None:
    """speech_s as a tuple of (start, end): a list of pairs, or one pair (shared/media's av)."""
    value = entry.get("speech_s")
    if value is None:
        return None
    if not isinstance(value, list) or not all(_is_pair(v) for v in value):
        if _is_pair(value):
            value = [value]
        else:
            raise ValueError(f"speech_s must be [start, end] pairs in seconds, got {value!r}")
    return tuple((float(a), float(b)) for a, b in value)


def _judge(
    vad: audio.VoiceActivityDetector, clip: LabelledClip, pcm: np.ndarray, mode: str
) -> VadResult:
    start = time.perf_counter()
    analyses = window_analyses(vad, pcm, mode)
    elapsed_ms = (time.perf_counter() - start) * MS_PER_S
    held = 0.0 if mode == FRESH_OLD_RULE else audio.MIN_SPEECH_HELD_S
    flags = [audio.is_speech(analysis, min_held_s=held) for analysis in analyses]
    verdicts = tuple(
        WindowVerdict(start, a.duration_s, _label(clip, start, a.duration_s), f)
        for start, a, f in zip(_starts(len(analyses)), analyses, flags, strict=True)
    )
    segments = clip.segments or ()
    found = sum(
        any(w.flagged and _overlap(((a, b),), w.start_s, w.seconds) > 0 for w in verdicts)
        for a, b in segments
    )
    return VadResult(
        clip.item, clip.speech, any(flags), elapsed_ms, clip.category, verdicts,
        len(segments), found,
    )  # fmt: skip


def _starts(count: int) -> list[float]:
    return [index * AUDIO_WINDOW_S for index in range(count)]


def _label(clip: LabelledClip, start_s: float, seconds: float) -> bool | None:
    if not clip.speech:
        return False
    if clip.segments is None:
        return None
    words = _overlap(clip.segments, start_s, seconds)
    if words >= MIN_SPEECH_IN_WINDOW_S:
        return True
    return False if words == 0 else None


def _overlap(segments: Segments, start_s: float, seconds: float) -> float:
    end_s = start_s + seconds
    return sum(max(0.0, min(end_s, b) - max(start_s, a)) for a, b in segments)


def _is_pair(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and value[0] <= value[1]
    )


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None
