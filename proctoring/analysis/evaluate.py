"""Accuracy and speed of the human counters and the VAD on a labelled media folder (no Django)."""

import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from proctoring.analysis import audio, evaluate_audio, probes, vision
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.evaluate_audio import (
    LabelledClip,
    Segments,
    VadReport,
    VadResult,
    audio_windows,
    evaluate_vad,
    segments_of,
)
from proctoring.analysis.scores import ClassScore, class_score
from proctoring.analysis.y4m import read_y4m

__all__ = [
    "ClassScore",
    "CountReport",
    "CountResult",
    "Evaluation",
    "EvaluationError",
    "Labels",
    "VadReport",
    "VadResult",
    "audio_windows",
    "class_score",
    "evaluate_directory",
    "load_labels",
]

LABELS_FILE = "expected.json"
AS_IS = "as-is"
WEBCAM = "640x480"
MS_PER_S = 1000.0
TIME_PERCENTILE = 95
# The product flags "no face" below one face and "multiple humans" above one
# (proctoring/services/analysis.py); the evaluation scores the same two classes.
MIN_HUMANS = 1
MAX_HUMANS = 1
DEV_AUDIO_PREFIX = "devaudio/"  # items of the generated development audio set in the report


class EvaluationError(AnalysisError):
    """The labelled folder or its expected.json is missing or unusable."""


@dataclass(frozen=True)
class CountResult:
    """One item (an image, a video frame or a composite) under one condition."""

    item: str
    expected: int
    counted: int
    ms: float

    @property
    def correct(self) -> bool:
        return self.counted == self.expected


class _Scored:
    """Accuracy, timing and misses over `results`."""

    results: tuple[CountResult, ...]

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
    def failures(self) -> tuple:
        return tuple(result for result in self.results if not result.correct)

    def _summary(self) -> dict[str, object]:
        return {
            "items": len(self.results),
            "accuracy": self.accuracy,
            "mean_ms": self.mean_ms,
            "p95_ms": self.p95_ms,
            "results": [{**asdict(result), "correct": result.correct} for result in self.results],
        }


@dataclass(frozen=True)
class CountReport(_Scored):
    """One detector under one condition (as-is, 640x480, a perturbation or a composite)."""

    detector: str
    condition: str
    results: tuple[CountResult, ...]

    @property
    def no_face(self) -> ClassScore:
        return _class_of(self.results, lambda count: count < MIN_HUMANS)

    @property
    def multiple(self) -> ClassScore:
        return _class_of(self.results, lambda count: count > MAX_HUMANS)

    def to_dict(self) -> dict[str, object]:
        return {
            "detector": self.detector,
            "condition": self.condition,
            "no_face": self.no_face.to_dict(),
            "multiple_humans": self.multiple.to_dict(),
            **self._summary(),
        }


@dataclass(frozen=True)
class Evaluation:
    """Everything one run measured, with notes on what it could not measure."""

    directory: str
    counting: tuple[CountReport, ...]
    vad: tuple[VadReport, ...]
    notes: tuple[str, ...] = ()

    def count_report(self, detector: str, condition: str) -> CountReport:
        for report in self.counting:
            if (report.detector, report.condition) == (detector, condition):
                return report
        raise KeyError(f"no report for {detector} under {condition}")

    def to_dict(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "counting": [report.to_dict() for report in self.counting],
            "vad": [report.to_dict() for report in self.vad],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Labels:
    """The labels of expected.json: humans per image, per video frame, and speech per clip."""

    images: Mapping[str, int]
    videos: Mapping[str, tuple[int, ...]]
    audio: Mapping[str, bool]
    # Where the words are (speech_s), and the clip's category, for the clips that have them.
    segments: Mapping[str, Segments] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelledFrame:
    name: str
    humans: int
    bgr: np.ndarray
    is_image: bool  # perturbations apply to still images, not to video frames


def evaluate_directory(
    directory: str | Path,
    *,
    detectors: Sequence[str] = vision.COUNTER_NAMES,
    model_dir: str | Path,
    y4m_step: int = 1,
    augment: bool = False,
    inputs: Sequence[tuple[int, int] | None] = (None,),
    dev_audio: str | Path | None = None,
) -> Evaluation:
    """Run every detector and the VAD on the labelled folder `directory` and score them.

    Each detector runs once per main input size in `inputs` (None: its default). `dev_audio`
    is a second labelled folder whose clips join the VAD's (the generated development audio
    set, devaudio.ensure()).
    """
    if y4m_step < 1:
        raise EvaluationError(f"--y4m-step must be at least 1, got {y4m_step}")
    root = Path(directory)
    labels = load_labels(root)
    counters = _counters(detectors, inputs, model_dir=model_dir)
    counting = evaluate_counting(root, labels, counters, y4m_step=y4m_step, augment=augment)
    notes = []
    if augment and not probes.composite_sources(root):
        notes.append(
            f"no background-person composites: {probes.FOREGROUND_FILE} and "
            f"{probes.BACKGROUND_FILE} from shared/media are not in {root}"
        )
    clips = labelled_clips(root, labels)
    if dev_audio is not None:
        dev_root = Path(dev_audio)
        clips += labelled_clips(dev_root, load_labels(dev_root), prefix=DEV_AUDIO_PREFIX)
        notes.append(f"{DEV_AUDIO_PREFIX}: the development audio set in {dev_root}")
    vad_reports = evaluate_vad(clips, audio.load_vad()) if clips else ()
    return Evaluation(str(root), counting, vad_reports, tuple(notes))


def counter_label(name: str, size: tuple[int, int] | None) -> str:
    """A detector's name in the report, with its main input size when one was asked for."""
    return name if size is None else f"{name}@{size[0]}x{size[1]}"


def _counters(
    detectors: Sequence[str], inputs: Sequence[tuple[int, int] | None], *, model_dir: str | Path
) -> list[vision.HumanCounter]:
    counters = []
    for name in dict.fromkeys(detectors):
        for size in dict.fromkeys(inputs):
            counter = vision.load_counter(name, model_dir, main_input=size)
            counter.name = counter_label(name, size)
            counters.append(counter)
    return counters


def labelled_clips(root: Path, labels: Labels, *, prefix: str = "") -> list[LabelledClip]:
    """Every labelled clip of a folder, with where its words are when that is labelled."""
    return [
        LabelledClip(
            item=prefix + name,
            path=root / name,
            speech=speech,
            segments=labels.segments.get(name),
            category=labels.categories.get(name, evaluate_audio.SHARED_CATEGORY),
        )
        for name, speech in labels.audio.items()
    ]


def load_labels(directory: str | Path) -> Labels:
    """The labels in `directory`/expected.json, checked, with every labelled file present."""
    root = Path(directory)
    if not root.is_dir():
        raise EvaluationError(f"{root} is not a directory")
    path = root / LABELS_FILE
    if not path.is_file():
        raise EvaluationError(
            f"{path} not found: the folder needs an {LABELS_FILE} with the expected labels "
            f"(see shared/media/{LABELS_FILE} for the format)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvaluationError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise EvaluationError(f"{path} must hold a JSON object")
    av = _section(data, "av", path)
    clips = {**_section(data, "audio", path), **_with_key(av, "speech")}
    labels = Labels(
        images=_labels_of(_section(data, "images", path), "humans", _humans, path),
        videos=_labels_of(_with_key(av, "humans_per_frame"), "humans_per_frame", _frames, path),
        audio=_labels_of(clips, "speech", _speech, path),
        segments=_labels_of(_with_key(clips, "speech_s"), "speech_s", _segments, path),
        categories=_labels_of(_with_key(clips, "category"), "category", _category, path),
    )
    if not (labels.images or labels.videos or labels.audio):
        raise EvaluationError(f"{path} labels no images, videos or audio clips")
    _check_files(root, [*labels.images, *labels.videos, *labels.audio])
    return labels


def evaluate_counting(
    root: Path,
    labels: Labels,
    counters: Sequence[vision.HumanCounter],
    *,
    y4m_step: int = 1,
    augment: bool = False,
) -> tuple[CountReport, ...]:
    """Per detector and condition, the count of every labelled frame (and probe, if augment)."""
    for counter in counters:
        # The first run of a model allocates its buffers; keep that out of the timings.
        counter.detect(np.zeros((*reversed(vision.LETTERBOX_SIZE), 3), dtype=np.uint8))
    results: dict[tuple[str, str], list[CountResult]] = {}
    frames = labelled_frames(root, labels, y4m_step=y4m_step)
    composites = background_composites(root) if augment else iter(())
    for condition, frame in itertools.chain(_conditions(frames, augment=augment), composites):
        for counter in counters:
            rows = results.setdefault((counter.name, condition), [])
            rows.append(_count(counter, frame))
    order = {counter.name: index for index, counter in enumerate(counters)}
    keys = sorted(results, key=lambda key: order[key[0]])  # stable: conditions keep their order
    return tuple(
        CountReport(name, condition, tuple(results[name, condition])) for name, condition in keys
    )


def labelled_frames(root: Path, labels: Labels, *, y4m_step: int = 1) -> Iterator[LabelledFrame]:
    """Each labelled image, then every `y4m_step`-th labelled frame of each Y4M video."""
    for name, humans in labels.images.items():
        bgr = vision.decode_jpeg((root / name).read_bytes())
        yield LabelledFrame(name, humans, bgr, is_image=True)
    for name, per_frame in labels.videos.items():
        yield from _video_frames(root / name, per_frame, step=y4m_step)


perturbations = probes.perturbations


def background_composites(root: Path) -> Iterator[tuple[str, LabelledFrame]]:
    """(condition, frame) for every small-background-person composite."""
    for condition, name, humans, bgr in probes.background_composites(root):
        yield condition, LabelledFrame(name, humans, bgr, is_image=False)


def _conditions(
    frames: Iterator[LabelledFrame], *, augment: bool
) -> Iterator[tuple[str, LabelledFrame]]:
    extra = probes.perturbations() if augment else {}
    for frame in frames:
        yield AS_IS, frame
        # A video frame is already a webcam frame; letterboxing it to its own size is a no-op.
        webcam = replace(frame, bgr=vision.letterbox(frame.bgr, size=vision.LETTERBOX_SIZE))
        yield WEBCAM, webcam
        if frame.is_image:
            for name, transform in extra.items():
                yield name, replace(webcam, bgr=transform(webcam.bgr))


def _count(counter: vision.HumanCounter, frame: LabelledFrame) -> CountResult:
    start = time.perf_counter()
    counted = len(counter.detect(frame.bgr))
    elapsed_ms = (time.perf_counter() - start) * MS_PER_S
    return CountResult(frame.name, frame.humans, counted, elapsed_ms)


def _video_frames(path: Path, per_frame: tuple[int, ...], *, step: int) -> Iterator[LabelledFrame]:
    with contextlib.closing(read_y4m(path, step=step)) as frames:
        for index in range(0, len(per_frame), step):
            bgr = next(frames, None)
            if bgr is None:
                raise EvaluationError(
                    f"{path.name} has fewer frames than the {len(per_frame)} it is labelled with"
                )
            yield LabelledFrame(f"{path.name}#{index}", per_frame[index], bgr, is_image=False)


def _class_of(results: Sequence[CountResult], member: Callable[[int], bool]) -> ClassScore:
    return class_score(
        [member(result.expected) for result in results],
        [member(result.counted) for result in results],
    )


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _section(data: dict, key: str, path: Path) -> dict:
    section = data.get(key, {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise EvaluationError(f"{path}: {key!r} must map file names to objects")
    return section


def _with_key(section: dict, key: str) -> dict:
    return {name: entry for name, entry in section.items() if key in entry}


def _labels_of(section: dict, key: str, parse: Callable, path: Path) -> dict:
    labels = {}
    for name, entry in section.items():
        if key not in entry:
            raise EvaluationError(f"{path}: {name} has no {key!r} label")
        try:
            labels[name] = parse(entry[key])
        except (TypeError, ValueError) as error:
            raise EvaluationError(f"{path}: {name} {key!r}: {error}") from error
    return labels


def _humans(value: object) -> int:
    # bool is an int in Python; `true` as a head count is a labelling mistake.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number of humans >= 0, got {value!r}")
    return value


def _frames(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of human counts, got {value!r}")
    return tuple(_humans(count) for count in value)


def _segments(value: object) -> Segments:
    segments = segments_of({"speech_s": value})
    return segments if segments is not None else ()


def _category(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


def _speech(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _check_files(root: Path, names: Sequence[str]) -> None:
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        raise EvaluationError(f"labelled file(s) missing from {root}: {', '.join(missing)}")
