"""Is a face good enough to enrol, or to judge? Size, pose (from the landmarks) and sharpness.

The floors are measured on the development set (docs/accuracy.md, "Identity") and on the real
photos of ../shared/models/MODELS.md, where faces about 50 px wide or strongly turned fell to
0.36-0.45 for the same person: no verdict of "different person" is taken from such a face.
"""

from dataclasses import asdict, dataclass

import cv2
import numpy as np

# What each check measures, and the enrolment floor. The floors for *judging* a frame are
# analysis thresholds (thresholds.py: identity_min_face_px, ...), so a re-score can move them.
# - width: the face box's width in frame pixels. 80 px is the issue's "frontal faces at least
#   80 px wide"; a webcam candidate at arm's length is 120-200 px in a 640x480 frame.
ENROL_MIN_FACE_PX = 80.0
# - turn: |d(nose, left eye) - d(nose, right eye)| / their sum: 0 frontal, about 0.3 at 30
#   degrees of yaw, 1 in profile. Enrolment wants a frontal face.
ENROL_MAX_TURN = 0.25
# - sharpness: 1000 x the variance of the Laplacian of the aligned 112x112 grey crop (lightly
#   smoothed, sigma 0.7 px, so sensor noise does not pass for detail) over the crop's own
#   variance, so that a dark or low-contrast face is not taken for a blurred one. On the
#   development set: sharp faces 80-200 px wide 14-83 (dark, backlit, noisy, JPEG q15 and VP8
#   included), a Gaussian blur of sigma 2 px 6-13, of sigma 3 px 3-6.
ENROL_MIN_SHARPNESS = 12.0
SHARPNESS_SMOOTHING = 0.7
SHARPNESS_SCALE = 1000.0
# Whether to embed at all: frames worse than this are never worth the ~35 ms (the judging
# floors sit above these, so a re-score can only tighten within what was computed).
COMPUTE_MIN_FACE_PX = 40.0
COMPUTE_MAX_TURN = 0.6

NO_FACE = "no_face"
MULTIPLE_FACES = "multiple_faces"
TOO_SMALL = "too_small"
TURNED = "turned"
BLURRED = "blurred"
NO_LANDMARKS = "no_landmarks"


@dataclass(frozen=True)
class FaceQuality:
    width: float
    turn: float
    sharpness: float

    def to_dict(self) -> dict[str, float]:
        return {key: round(value, 3) for key, value in asdict(self).items()}


def measure(*, box, points: np.ndarray, aligned_bgr: np.ndarray) -> FaceQuality:
    return FaceQuality(
        width=float(box[2] - box[0]), turn=turn_of(points), sharpness=sharpness_of(aligned_bgr)
    )


def turn_of(points: np.ndarray) -> float:
    """How far the head is turned left or right: 0 frontal, 1 in profile (rotation-invariant)."""
    left_eye, right_eye, nose = points[0], points[1], points[2]
    left = float(np.linalg.norm(nose - left_eye))
    right = float(np.linalg.norm(nose - right_eye))
    return abs(left - right) / max(left + right, 1e-6)


def sharpness_of(aligned_bgr: np.ndarray) -> float:
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    grey = cv2.GaussianBlur(grey, (0, 0), SHARPNESS_SMOOTHING)
    contrast = max(float(grey.var()), 1.0)
    return SHARPNESS_SCALE * float(cv2.Laplacian(grey, cv2.CV_64F).var()) / contrast


def enrol_problem(quality: FaceQuality) -> str:
    """Why this face cannot be a reference ("" when it can): the first failed check."""
    if quality.width < ENROL_MIN_FACE_PX:
        return TOO_SMALL
    if quality.turn > ENROL_MAX_TURN:
        return TURNED
    if quality.sharpness < ENROL_MIN_SHARPNESS:
        return BLURRED
    return ""


def worth_embedding(quality: FaceQuality) -> bool:
    return quality.width >= COMPUTE_MIN_FACE_PX and quality.turn <= COMPUTE_MAX_TURN
