"""Human counting on BGR frames: SCRFD (InsightFace) or YuNet (OpenCV's, MIT) behind one interface.

Both run on onnxruntime with the same shape: one small main pass, then each doubtful detection
looked at again in a crop around it, then NMS, then a box lying inside another face's box is
dropped (a part of that face, not a second person).
"""

import os
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from proctoring.analysis import exposure
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.models import model_path
from proctoring.analysis.scrfd import (
    ScrfdModel,
    box_areas,
    iou_from_overlap,
    non_max_suppression,
    pairwise_overlap,
)
from proctoring.analysis.yunet import YunetModel

__all__ = [
    "COUNTER_NAMES",
    "INPUT_PROFILES",
    "Face",
    "HumanCounter",
    "ScrfdCounter",
    "YunetCounter",
    "decode_jpeg",
    "drop_contained",
    "encode_jpeg",
    "letterbox",
    "load_counter",
    "non_max_suppression",
]

# Real faces score 0.72-0.92 (SCRFD) and 0.83-0.94 (YuNet) on the test media; non-faces stay
# below both thresholds. These are the detectors' published defaults.
SCRFD_SCORE_THRESHOLD = 0.5
YUNET_SCORE_THRESHOLD = 0.6
# The same face found at two SCRFD scales overlaps itself with IoU 0.74-0.94 on the test media,
# while distinct faces never overlap (IoU 0.0), so 0.4 (InsightFace's own NMS value) sits safely
# between the two.
MERGE_IOU_THRESHOLD = 0.4
YUNET_NMS_IOU_THRESHOLD = 0.3
# A box with this much of its area inside a larger face's box is a part of that face (eyes and
# nose found by a smaller anchor), whatever its score: SCRFD kept such boxes at 0.53-0.60 on two
# real group photos (issue #20), which on a lone candidate read as "multiple humans". Distinct
# faces in the labelled media and the --augment probes never have more than 0 % of one box
# inside another; partly hidden people behind someone overlap at the edge, far below 80 %.
CONTAINED_FACE = 0.8

# SCRFD scales, as (width, height). det_500m, 1 thread, letterboxed 640x480 frame of t1.jpg, median
# of 60 interleaved runs on a 2-vCPU machine (noise about 2 ms); counts checked on all 7 test
# images, as-is and letterboxed to 640x480:
#   (640, 640)              24.1 ms  misses the frame-filling close-up (Tom_Hanks)
#   (640, 480)              19.7 ms  misses the close-up
#   (320, 256)               5.7 ms  all right, but a group shrunk to 1/4 scores as low as 0.53
#   (640, 480) + (128, 128) 19.4 ms  all right
#   (640, 480) + (160, 128) 19.7 ms  all right; the small pass alone costs 2.1 ms
# det_2.5g in the same order: 97.7, 73.3, 19.9, 75.9, 76.9 ms.
# The default is one 320x256 pass plus a refinement of its doubtful candidates (below): at
# 320x256 a close-up has a normal size, and a small background face (25-75 px in the 640x480
# frame) still shows up, but often under the threshold (0.12-0.47 on the --augment composites).
# With the refinement it counts every labelled image, video frame and --augment probe that
# 640x480 + 160x128 counts (and 3 probes more), at about 2.5x its speed (docs/benchmarks.md).
SCRFD_MAIN_INPUT = (320, 256)
SCRFD_CLOSEUP_INPUT = (160, 128)
SCRFD_INPUT_SIZES = (SCRFD_MAIN_INPUT,)
# A main input this high or more sees a frame-filling face as too large (480 misses it, 256 finds
# it), so it gets the 160x128 close-up pass; 160x128 holds a whole 4:3 frame at 160x120.
SCRFD_CLOSEUP_FROM_HEIGHT = 384
# Refinement: a detection scoring at least SCRFD_CANDIDATE_SCORE but under the threshold is looked
# at again in a square crop around it, SCRFD_REFINE_CONTEXT times its box, run at
# SCRFD_REFINE_INPUT, so a small face is seen at about twice the size. Non-faces score under 0.1
# at 320x256 except clutter and the cat (chelsea.png, 0.32), which then cost one crop each.
# 0.05 instead of 0.1, or a context of 4, each lost probes that 640x480 found. A crop of twice the
# box at 96x96 sees the face at the same size as 2.5 times at 128x128 with 44 % fewer pixels
# (inference 0.56 against 0.79 ms a crop, one run). It counts the 104 probes exactly alike, and
# 498 against 500 of them moved by 5 small shifts (2 small faces lost at one shift). 2.5 times
# at 96x96 lost 2 probes.
SCRFD_CANDIDATE_SCORE = 0.1
SCRFD_REFINE_INPUT = (96, 96)
# Issue #20: a face about 25 px high in the 640x480 frame (bg-head-1/12) scores only 0.06-0.10 at
# 320x256, and 0.42-0.54 in a 96x96 crop. A candidate box at most SCRFD_SMALL_FACE_PX on its long
# side is therefore taken from SCRFD_SMALL_CANDIDATE_SCORE and looked at in a 128x128 crop, where
# such faces score 0.62-0.76. This fixed the three bg-head-1/12 probes SCRFD missed, and on the
# held-out composites (heads at 1/5, 1/7, 1/10, 1/14 of the frame, another margin) it halved the
# misses (10 to 5) with no false face; 1.38 crops an item against 0.95. A box under
# MIN_CANDIDATE_PX is a decoding artefact at the frame's corner, never a face.
SCRFD_SMALL_FACE_PX = 40
SCRFD_SMALL_CANDIDATE_SCORE = 0.05
SCRFD_SMALL_REFINE_INPUT = (128, 128)
MIN_CANDIDATE_PX = 6
# A washed-out frame (exposure.py) gets one more pass, darkened by this gamma, at this input: on
# the `overexposed` probes SCRFD found 2 faces of 3 and 1 of 2 without it, all with it (the same
# at gamma 2; the plain frame at 480x384 still lost one). YuNet's is its plain frame at 640x480:
# it recovered 1 of its 2 lost faces of t1.jpg and the held-out x1.7 probes of two_faces and
# three_faces; darkened, it saw a face in the overexposed cat.
SCRFD_WASHED_OUT_INPUT = (480, 384)
SCRFD_WASHED_OUT_GAMMA = 1.5
YUNET_WASHED_OUT_INPUT = (640, 480)
SCRFD_REFINE_CONTEXT = 2.0
SCRFD_REFINE_MIN_SIDE = 48  # pixels of the frame; a tinier crop holds no countable face
SCRFD_REFINE_MAX = 6  # crops per frame, best candidates first: bounds a crowded frame's cost
# A candidate with this much of its own box inside a sure face is a part of that face (eyes,
# hairline) found by another anchor, not a second person, and gets no crop. On the benchmark's
# crowd frames 1-3 of the 4-5 crops per frame were such parts; skipping them (0.3-0.6 tried)
# changed no count of the labelled images, camera frames or the 104 --augment probes. The price:
# a face more than 40 % hidden behind a sure face must score sure on its own to be counted.
SCRFD_PART_OF_FACE = 0.4
# The main input sizes a deployment picks between (PROCTOR_DETECTOR_INPUT): the default, and the
# earlier 640x480 profile (decision 0005).
INPUT_PROFILES = ("320x256", "640x480")
SCRFD_SIZE_MULTIPLE = 32  # SCRFD's stride-32 feature map; other sizes crash its box decoder
# YuNet's fast path (issue #20), measured on the labelled media and the 104 --augment probes
# (docs/accuracy.md): a 384x288 main pass, then doubtful detections (0.05 to the threshold) are
# looked at again in a crop of twice their box at 128x128, where a face must score 0.7.
# - At 320x256 YuNet loses 3 more small background faces than at 384x288 (99 against 102 of
#   104 probes right), so the fast profile (PROCTOR_DETECTOR_INPUT=320x256) runs it at 384x288.
# - A crop at 96x96 lets false faces through (a knee in t1.jpg scores 0.62-0.70); at 128x128
#   real faces re-score 0.83 or more and false ones 0.56 or less, so 0.7 sits in the gap.
# - A candidate floor of 0.02 instead of 0.05 adds crops (t1.jpg's crowd) and finds nothing more.
# The large profile (an input 384 or more high, e.g. 640x480) is the old YuNet: one pass, no
# refinement, the same boxes as cv2.FaceDetectorYN at 0.6.
YUNET_FAST_INPUT = (384, 288)
YUNET_CANDIDATE_SCORE = 0.05
YUNET_REFINE_INPUT = (128, 128)
YUNET_REFINE_SCORE = 0.7
# Crops per frame: YuNet's crowd frames hold up to 15 doubtful detections at 0.05 (clutter around
# people); the 3 best cost 1.8 crops per benchmark frame against 3.1 for 6, with the same counts
# on every labelled item and probe.
YUNET_REFINE_MAX = 3

DEFAULT_THREADS = 1
JPEG_QUALITY = 85
LETTERBOX_SIZE = (640, 480)
LETTERBOX_FILL = 0
# Sub-pixel box precision and 4-digit scores are all a reviewer or a re-scoring needs.
BOX_DECIMALS = 1
SCORE_DECIMALS = 4
_BGR_CHANNELS = 3


@dataclass(frozen=True)
class Face:
    """One detected face."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "box": [round(value, BOX_DECIMALS) for value in self.box],
            "score": round(self.score, SCORE_DECIMALS),
        }


class HumanCounter(Protocol):
    """Finds the faces in a BGR frame; the number of faces is the number of humans."""

    name: str

    def detect(self, bgr: np.ndarray) -> list[Face]: ...


class ScrfdCounter:
    """InsightFace SCRFD: full-frame passes, then doubtful candidates looked at again in crops."""

    def __init__(
        self,
        model_file: str | os.PathLike[str],
        *,
        name: str = "scrfd",
        score_threshold: float = SCRFD_SCORE_THRESHOLD,
        input_sizes: tuple[tuple[int, int], ...] = SCRFD_INPUT_SIZES,
        merge_iou: float = MERGE_IOU_THRESHOLD,
        threads: int = DEFAULT_THREADS,
        refine: bool = True,
    ) -> None:
        _check_unit_interval("score_threshold", score_threshold)
        _check_unit_interval("merge_iou", merge_iou)
        _check_scrfd_sizes(input_sizes)
        self.name = name
        self._input_sizes = tuple(input_sizes)
        self._threshold = score_threshold
        self._merge_iou = merge_iou
        self._refine = refine
        _check_threads(threads)
        self._model = ScrfdModel(model_file, threads=threads, nms_iou=merge_iou)
        # The passes keep what scores this much; detect() splits sure faces from candidates.
        self._keep_score = score_threshold
        if refine:
            self._keep_score = min(score_threshold, SCRFD_SMALL_CANDIDATE_SCORE)

    def detect(self, bgr: np.ndarray) -> list[Face]:
        _check_frame(bgr)
        found = np.vstack(
            [
                self._model.detect(bgr, input_size=size, threshold=self._keep_score)
                for size in self._input_sizes
            ]
        )
        if self._refine:
            # A raised or lowered threshold moves the floor as before; small boxes go lower.
            floor = min(self._threshold, SCRFD_CANDIDATE_SCORE)
            found = _candidates(found, floor, min(floor, SCRFD_SMALL_CANDIDATE_SCORE))
            if exposure.washed_out(bgr):
                darker = exposure.darkened(bgr, SCRFD_WASHED_OUT_GAMMA)
                again = self._model.detect(
                    darker, input_size=SCRFD_WASHED_OUT_INPUT, threshold=floor
                )
                found = np.vstack([found, again])
        sure = found[found[:, 4] >= self._threshold]
        if self._refine:
            doubtful = _apart_from(found[found[:, 4] < self._threshold], sure, self._merge_iou)
            refined = _refined(bgr, doubtful, self._look_closer, limit=SCRFD_REFINE_MAX)
            sure = np.vstack([sure, *refined])
        merged = non_max_suppression(sure, iou_threshold=self._merge_iou)
        return _to_faces(drop_contained(merged), frame=bgr)

    def _look_closer(self, crop: np.ndarray, box: np.ndarray) -> np.ndarray:
        # Only sure faces: greedy NMS never lets a lower score suppress a higher one, so
        # dropping the candidates first keeps the same faces for less decoding.
        size = SCRFD_SMALL_REFINE_INPUT if _small(box) else SCRFD_REFINE_INPUT
        return self._model.detect(crop, input_size=size, threshold=self._threshold)


class YunetCounter:
    """OpenCV's YuNet (MIT-licensed model) on onnxruntime, with SCRFD's crop refinement."""

    def __init__(
        self,
        model_file: str | os.PathLike[str],
        *,
        name: str = "yunet",
        score_threshold: float = YUNET_SCORE_THRESHOLD,
        nms_iou: float = YUNET_NMS_IOU_THRESHOLD,
        input_size: tuple[int, int] = YUNET_FAST_INPUT,
        refine: bool = True,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        _check_unit_interval("score_threshold", score_threshold)
        _check_unit_interval("nms_iou", nms_iou)
        _check_scrfd_sizes((input_size,))  # the same stride-32 grid as SCRFD's
        _check_threads(threads)
        self.name = name
        self._threshold = score_threshold
        self._nms_iou = nms_iou
        self._input_size = input_size
        self._refine = refine
        self._model = YunetModel(model_file, threads=threads, nms_iou=nms_iou)
        self._keep_score = (
            min(score_threshold, YUNET_CANDIDATE_SCORE) if refine else score_threshold
        )

    def detect(self, bgr: np.ndarray) -> list[Face]:
        _check_frame(bgr)
        found = self._model.detect(bgr, input_size=self._input_size, threshold=self._keep_score)
        if self._refine and exposure.washed_out(bgr):
            again = self._model.detect(
                bgr, input_size=YUNET_WASHED_OUT_INPUT, threshold=self._keep_score
            )
            found = np.vstack([found, again])
        sure = found[found[:, 4] >= self._threshold]
        if self._refine:
            doubtful = _apart_from(found[found[:, 4] < self._threshold], sure, self._nms_iou)
            refined = _refined(bgr, doubtful, self._look_closer, limit=YUNET_REFINE_MAX)
            sure = np.vstack([sure, *refined])
        merged = non_max_suppression(sure, iou_threshold=self._nms_iou)
        return _to_faces(drop_contained(merged), frame=bgr)

    def _look_closer(self, crop: np.ndarray, box: np.ndarray) -> np.ndarray:
        # A raised threshold holds in the crops too.
        threshold = max(YUNET_REFINE_SCORE, self._threshold)
        return self._model.detect(crop, input_size=YUNET_REFINE_INPUT, threshold=threshold)


_COUNTERS: dict[str, type[ScrfdCounter] | type[YunetCounter]] = {
    "scrfd_500m": ScrfdCounter,
    "scrfd_2.5g": ScrfdCounter,
    "yunet": YunetCounter,
}
COUNTER_NAMES: tuple[str, ...] = tuple(_COUNTERS)


def load_counter(
    name: str,
    model_dir: str | os.PathLike[str],
    *,
    score_threshold: float | None = None,
    threads: int = DEFAULT_THREADS,
    main_input: tuple[int, int] | None = None,
) -> HumanCounter:
    """The human counter `name` (one of COUNTER_NAMES) with its model from `model_dir`.

    `main_input` is the deployment's profile (PROCTOR_DETECTOR_INPUT): a small input gets crop
    refinement, an input 384 or more high does not.
    """
    counter_class = _COUNTERS.get(name)
    if counter_class is None:
        known = ", ".join(COUNTER_NAMES)
        raise AnalysisError(f"unknown face detector {name!r}; choose one of: {known}")
    extra: dict = {} if score_threshold is None else {"score_threshold": score_threshold}
    if main_input is not None:
        extra.update(_profile(counter_class, main_input))
    return counter_class(model_path(name, model_dir=model_dir), name=name, threads=threads, **extra)


def _profile(counter_class: type, main_input: tuple[int, int]) -> dict:
    # A large main input sees small faces with sure scores: refining its doubtful candidates
    # there only added false faces (SCRFD: t1.jpg 7 for 6, a darkened three_faces.png 4 for 3;
    # YuNet at 640x480: t1.jpg 7 for 6).
    large = main_input[1] >= SCRFD_CLOSEUP_FROM_HEIGHT
    if counter_class is ScrfdCounter:
        sizes = (main_input, SCRFD_CLOSEUP_INPUT) if large else (main_input,)
        return {"input_sizes": sizes, "refine": not large}
    fast = max(main_input, YUNET_FAST_INPUT, key=lambda size: size[0] * size[1])
    return {"input_size": main_input if large else fast, "refine": not large}


def parse_input_size(text: str) -> tuple[int, int] | None:
    """'640x480' -> (640, 480); '' -> None (the counter's default)."""
    if not text:
        return None
    width, _, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise AnalysisError(f"input size {text!r} is not WIDTHxHEIGHT") from None
    _check_scrfd_sizes((size,))
    return size


def decode_jpeg(data: bytes) -> np.ndarray:
    """A BGR uint8 frame from JPEG bytes (PNG works too); undecodable bytes raise AnalysisError."""
    if not data:
        raise AnalysisError("cannot decode an empty image")
    try:
        frame = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise AnalysisError(f"cannot decode the image ({len(data)} bytes): {error}") from error
    if frame is None:
        raise AnalysisError(f"cannot decode the image ({len(data)} bytes): not a JPEG or PNG")
    return frame


def encode_jpeg(bgr: np.ndarray, *, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of a BGR frame."""
    _check_frame(bgr)
    if not 1 <= quality <= 100:
        raise AnalysisError(f"JPEG quality must be in 1..100, got {quality}")
    ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise AnalysisError("cannot encode the frame as JPEG")
    return buffer.tobytes()


def letterbox(
    bgr: np.ndarray, *, size: tuple[int, int] = LETTERBOX_SIZE, fill: int = LETTERBOX_FILL
) -> np.ndarray:
    """The frame scaled to fit `size` (width, height), aspect kept, centred on a flat background."""
    width, height = size
    scale = min(width / bgr.shape[1], height / bgr.shape[0])
    fitted_w, fitted_h = round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)
    canvas = np.full((height, width, bgr.shape[2]), fill, dtype=bgr.dtype)
    left, top = (width - fitted_w) // 2, (height - fitted_h) // 2
    canvas[top : top + fitted_h, left : left + fitted_w] = cv2.resize(bgr, (fitted_w, fitted_h))
    return canvas


def _apart_from(candidates: np.ndarray, faces: np.ndarray, iou_threshold: float) -> np.ndarray:
    """The candidates that are neither one of `faces` seen again nor a part of one."""
    if not len(faces) or not len(candidates):
        return candidates
    overlap = pairwise_overlap(candidates, faces)
    own_area = box_areas(candidates)[:, None]
    iou = iou_from_overlap(overlap, own_area, box_areas(faces))
    inside = overlap / np.maximum(own_area, np.finfo(np.float32).eps)
    apart = (iou <= iou_threshold) & (inside < SCRFD_PART_OF_FACE)
    return candidates[apart.all(axis=1)]


def _refined(
    bgr: np.ndarray, candidates: np.ndarray, look_closer, *, limit: int
) -> list[np.ndarray]:
    """The faces `look_closer` finds in a crop around each of the `limit` best candidates, in
    frame coordinates."""
    best_first = candidates[np.argsort(-candidates[:, 4], kind="stable")][:limit]
    found = []
    for row in best_first:
        x0, y0, side = _crop_around(row[:4], frame=bgr)
        faces = look_closer(bgr[y0 : y0 + side, x0 : x0 + side], row[:4])
        faces[:, [0, 2]] += x0
        faces[:, [1, 3]] += y0
        found.append(faces)
    return found


def _long_side(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1])


def _small(boxes: np.ndarray) -> np.ndarray:
    return _long_side(boxes) <= SCRFD_SMALL_FACE_PX


def _candidates(found: np.ndarray, floor: float, small_floor: float) -> np.ndarray:
    """The detections worth a look: from `floor`, or from `small_floor` for a small face's box."""
    small = _small(found) & (_long_side(found) >= MIN_CANDIDATE_PX)
    return found[(found[:, 4] >= floor) | (small & (found[:, 4] >= small_floor))]


def drop_contained(detections: np.ndarray, *, inside: float = CONTAINED_FACE) -> np.ndarray:
    """Rows [x1 y1 x2 y2 score ...] without any box lying `inside` of a larger face's box.

    Whatever its score: a part of a face found by a smaller anchor can score as sure as the
    face (0.53-0.60 on two real group photos, issue #20), and there is no second face inside a
    face's box to lose.
    """
    if len(detections) < 2:
        return detections
    areas = box_areas(detections)
    share = pairwise_overlap(detections, detections) / np.maximum(
        areas[:, None], np.finfo(np.float32).eps
    )
    within_larger = (share >= inside) & (areas[:, None] < areas[None, :])
    return detections[~within_larger.any(axis=1)]


def _crop_around(box: np.ndarray, *, frame: np.ndarray) -> tuple[int, int, int]:
    """(x0, y0, side) of a square crop centred on the box with context, inside the frame."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = box
    side = max(SCRFD_REFINE_CONTEXT * max(x2 - x1, y2 - y1), SCRFD_REFINE_MIN_SIDE)
    side = int(min(side, width, height))
    x0 = int(np.clip((x1 + x2 - side) / 2, 0, width - side))
    y0 = int(np.clip((y1 + y2 - side) / 2, 0, height - side))
    return x0, y0, side


def _to_faces(detections: np.ndarray, *, frame: np.ndarray) -> list[Face]:
    """Faces sorted by score, boxes clipped to the frame (a close-up's box overshoots its edges)."""
    height, width = frame.shape[:2]
    faces = [
        Face(
            box=(
                float(np.clip(x1, 0, width)),
                float(np.clip(y1, 0, height)),
                float(np.clip(x2, 0, width)),
                float(np.clip(y2, 0, height)),
            ),
            score=float(score),
        )
        for x1, y1, x2, y2, score in detections[:, :5]
    ]
    return sorted(faces, key=lambda face: face.score, reverse=True)


def _check_frame(bgr: np.ndarray) -> None:
    if not isinstance(bgr, np.ndarray) or bgr.dtype != np.uint8:
        raise AnalysisError("a frame must be a uint8 numpy array")
    if bgr.ndim != 3 or bgr.shape[2] != _BGR_CHANNELS or 0 in bgr.shape:
        raise AnalysisError(f"a frame must be a non-empty H x W x 3 BGR array, got {bgr.shape}")


def _check_scrfd_sizes(sizes: tuple[tuple[int, int], ...]) -> None:
    if not sizes:
        raise AnalysisError("SCRFD needs at least one input size")
    for width, height in sizes:
        if width <= 0 or height <= 0 or width % SCRFD_SIZE_MULTIPLE or height % SCRFD_SIZE_MULTIPLE:
            raise AnalysisError(
                f"SCRFD input size {width}x{height} must be positive multiples of "
                f"{SCRFD_SIZE_MULTIPLE}"
            )


def _check_unit_interval(label: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise AnalysisError(f"{label} must be between 0 and 1, got {value}")


def _check_threads(threads: int) -> None:
    if threads < 1:
        raise AnalysisError(f"threads must be at least 1, got {threads}")
