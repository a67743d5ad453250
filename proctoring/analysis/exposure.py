"""Washed-out frames: a window behind the candidate, a lamp pointed at the camera, auto-exposure
gone wrong. Faces there lose their mid-tones and the small detectors score them under their
thresholds (issue #20: two people read as one), so the counters look at such a frame once more.

Measured on the development images and the --augment probes (docs/accuracy.md): at most 1.2 %
of a normal frame's pixels are clipped white (245 or more in grey, every 4th pixel of every 4th
row), against 26 % or more of an `overexposed` probe's (contrast x1.5, +60) and 0-22 % of a
milder held-out one (x1.3, +40). 10 % sits between a normal frame and a washed-out one.
"""

import functools

import cv2
import numpy as np

STEP = 4
CLIPPED_LEVEL = 245
WASHED_OUT_SHARE = 0.1


def washed_out(bgr: np.ndarray) -> bool:
    """Whether a tenth or more of the frame is clipped white. Every STEP-th pixel of every
    STEP-th row is enough for a share (and costs a few hundredths of a millisecond)."""
    sample = np.ascontiguousarray(bgr[::STEP, ::STEP])
    grey = cv2.cvtColor(sample, cv2.COLOR_BGR2GRAY)
    return float(np.count_nonzero(grey >= CLIPPED_LEVEL)) >= WASHED_OUT_SHARE * grey.size


def darkened(bgr: np.ndarray, gamma: float) -> np.ndarray:
    """The frame through a gamma curve above 1: bright tones spread apart, so what is left of a
    washed-out face's shading shows more."""
    return cv2.LUT(bgr, _gamma_table(gamma))


@functools.cache
def _gamma_table(gamma: float) -> np.ndarray:
    levels = np.arange(256, dtype=np.float64) / 255.0
    return np.clip(np.round(255.0 * levels**gamma), 0, 255).astype(np.uint8)
