"""Washed-out frames are told from normal ones (issue #20)."""

import json

import cv2
import numpy as np
import pytest

from proctoring.analysis import exposure, probes, vision
from tests.conftest import MEDIA_DIR


def labelled_frames():
    labels = json.loads((MEDIA_DIR / "expected.json").read_text())["images"]
    return {name: vision.letterbox(cv2.imread(str(MEDIA_DIR / name))) for name in labels}


@pytest.mark.parametrize(
    "condition", ["320x240", "dark-40%", "noise-s12", "jpeg-q30", "rot+10", "low-light"]
)
def test_normal_and_dark_frames_are_not_washed_out(condition):
    transform = probes.perturbations()[condition]
    for name, frame in labelled_frames().items():
        assert not exposure.washed_out(frame), name
        assert not exposure.washed_out(transform(frame)), name


def test_every_overexposed_probe_is_washed_out():
    overexposed = probes.perturbations()["overexposed"]
    for name, frame in labelled_frames().items():
        assert exposure.washed_out(overexposed(frame)), name


def test_the_share_of_clipped_white_decides():
    frame = np.full((480, 640, 3), 120, dtype=np.uint8)
    frame[:40] = 255  # 40 of 480 rows: 8 %
    assert not exposure.washed_out(frame)
    frame[:56] = 255  # 11.7 %
    assert exposure.washed_out(frame)


def test_darkening_keeps_black_and_white_and_lowers_the_middle():
    frame = np.array([[[0, 128, 255]]], dtype=np.uint8)
    darker = exposure.darkened(frame, 1.5)
    assert darker[0, 0, 0] == 0 and darker[0, 0, 2] == 255
    assert 85 < darker[0, 0, 1] < 128
