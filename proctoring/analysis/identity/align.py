"""Face alignment: five landmarks onto the ArcFace 112x112 template, as SFace and MobileFaceNet
were trained (../shared/models/MODELS.md)."""

import cv2
import numpy as np

from proctoring.analysis.errors import AnalysisError

ALIGNED_SIZE = 112
# Left eye, right eye, nose tip, left and right mouth corner, in the 112x112 crop: the template
# of InsightFace's arcface_dst, which OpenCV's FaceRecognizerSF.alignCrop uses too.
TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
LANDMARKS = 5


def align_face(bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 BGR crop of the face whose five landmarks (x, y rows) are given.

    A similarity transform (rotation, uniform scale, shift; Umeyama via OpenCV's LMEDS fit),
    so the face keeps its shape.
    """
    points = np.asarray(landmarks, dtype=np.float32).reshape(LANDMARKS, 2)
    matrix, _ = cv2.estimateAffinePartial2D(points, TEMPLATE, method=cv2.LMEDS)
    if matrix is None:
        raise AnalysisError("the five landmarks do not fit the alignment template")
    return cv2.warpAffine(bgr, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), borderValue=0)
