"""The five landmarks of one face, found again in a crop around the box the counter gave.

The counter runs its passes without the landmark head (it only counts). Here the same detector
family runs with it, but only on the one face to be embedded: a square crop of
LANDMARK_CONTEXT times the face's box, at LANDMARK_INPUTS: landmarking costs only the frames that
are embedded. Measured (process CPU, one thread, this 2-vCPU machine; docs/accuracy.md): about
3 ms a face with SCRFD at 192x192 and 2.8 ms with YuNet at 256x256. Keeping SCRFD's landmark
head in the counter's own main pass instead would cost every frame, not only the compared ones.
"""

import os
from dataclasses import dataclass

import cv2
import numpy as np

from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.models import model_path
from proctoring.analysis.scrfd import ScrfdModel, box_areas, iou_from_overlap, pairwise_overlap
from proctoring.analysis.yunet import YunetModel

# A crop of 1.5 times the face box: the whole head, so the detector sees a face of normal size
# (about two thirds of the input) whatever the face's size in the frame.
LANDMARK_CONTEXT = 1.5
LANDMARK_INPUT = (192, 192)
# YuNet's landmarks jitter more than SCRFD's at 192 (3-9 px between near-identical frames of a
# 140 px face): at 256 the development set's worst genuine pair rose from 0.23 to 0.42.
LANDMARK_INPUTS = {"scrfd": LANDMARK_INPUT, "yunet": (256, 256)}
# In the crop a real face scores 0.7 or more; a lower floor only keeps the detector from missing
# a blurred or turned face whose box we already trust.
LANDMARK_SCORE = 0.3
# The face found again must be the counter's: it overlaps the box it was asked about this much.
SAME_FACE_IOU = 0.3
NMS_IOU = 0.4
_FAMILIES = {"scrfd_500m": "scrfd", "scrfd_2.5g": "scrfd", "yunet": "yunet"}


@dataclass(frozen=True)
class Landmarks:
    """A face found again with its landmarks, in frame pixels."""

    box: tuple[float, float, float, float]
    score: float
    points: np.ndarray  # (5, 2): left eye, right eye, nose, left and right mouth corner


class FaceLandmarker:
    """`locate(frame, box)` -> the face's Landmarks, or None when the crop holds no such face."""

    def __init__(
        self,
        detector: str,
        model_dir: str | os.PathLike[str],
        *,
        threads: int = 1,
        input_size: tuple[int, int] | None = None,
    ) -> None:
        family = _FAMILIES.get(detector)
        if family is None:
            raise AnalysisError(f"no landmarks for face detector {detector!r}")
        model_class = ScrfdModel if family == "scrfd" else YunetModel
        self.name = detector
        self._input = input_size or LANDMARK_INPUTS[family]
        self._model = model_class(
            model_path(detector, model_dir=model_dir),
            threads=threads,
            nms_iou=NMS_IOU,
            keypoints=True,
        )

    def locate(self, bgr: np.ndarray, box) -> Landmarks | None:
        crop, (x0, y0) = _crop_around(bgr, np.asarray(box, dtype=np.float32))
        found = self._model.detect(crop, input_size=self._input, threshold=LANDMARK_SCORE)
        if not len(found):
            return None
        found[:, [0, 2, 5, 7, 9, 11, 13]] += x0
        found[:, [1, 3, 6, 8, 10, 12, 14]] += y0
        target = np.asarray(box, dtype=np.float32)[None, :4]
        overlap = pairwise_overlap(found, target)[:, 0]
        iou = iou_from_overlap(overlap, box_areas(found), box_areas(target)[0])
        best = int(np.argmax(iou))
        if iou[best] < SAME_FACE_IOU:
            return None
        row = found[best]
        return Landmarks(
            box=tuple(float(v) for v in row[:4]),
            score=float(row[4]),
            points=row[5:15].reshape(5, 2).astype(np.float32),
        )


def _crop_around(bgr: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A square crop centred on the box, padded with black where it leaves the frame."""
    x1, y1, x2, y2 = box[:4]
    side = int(round(max(x2 - x1, y2 - y1) * LANDMARK_CONTEXT))
    side = max(side, 16)
    x0 = int(round((x1 + x2 - side) / 2))
    y0 = int(round((y1 + y2 - side) / 2))
    height, width = bgr.shape[:2]
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x0 + side - width), max(0, y0 + side - height)
    inside = bgr[max(0, y0) : min(height, y0 + side), max(0, x0) : min(width, x0 + side)]
    if left or top or right or bottom:
        inside = cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0)
    return inside, (x0, y0)
