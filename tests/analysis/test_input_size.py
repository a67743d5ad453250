"""The detector's main input size is a setting: the fast profile still counts the labelled set."""

import json

import cv2
import pytest

from proctoring.analysis import vision
from proctoring.analysis.errors import AnalysisError
from tests.conftest import MEDIA_DIR, MODEL_DIR


@pytest.fixture(scope="module")
def fast_counter():
    return vision.load_counter("scrfd_500m", MODEL_DIR, main_input=(320, 256))


def test_fast_profile_counts_every_labelled_image(fast_counter):
    labels = json.loads((MEDIA_DIR / "expected.json").read_text())["images"]
    for name, label in labels.items():
        frame = vision.letterbox(cv2.imread(str(MEDIA_DIR / name)))
        assert len(fast_counter.detect(frame)) == label["humans"], name


@pytest.mark.parametrize(
    ("text", "size"), [("640x480", (640, 480)), ("320X256", (320, 256)), ("", None)]
)
def test_input_size_parses(text, size):
    assert vision.parse_input_size(text) == size


@pytest.mark.parametrize("text", ["640", "abcxdef", "320x240"])
def test_bad_input_sizes_are_refused(text):
    with pytest.raises(AnalysisError):
        vision.parse_input_size(text)
