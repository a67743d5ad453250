"""YuNet on onnxruntime: OpenCV's boxes to the pixel, the fast profile, and its accuracy."""

import cv2
import numpy as np
import pytest

from proctoring.analysis import vision
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.models import model_path
from proctoring.analysis.yunet import YunetModel
from tests.analysis.test_input_size import probe_frames
from tests.conftest import MEDIA_DIR, MODEL_DIR

LABELLED = ("t1.jpg", "astronaut.png", "two_faces.png", "three_faces.png", "Tom_Hanks_54745.png")


@pytest.fixture(scope="module")
def model_file():
    return model_path("yunet", model_dir=MODEL_DIR)


@pytest.mark.parametrize("name", LABELLED)
def test_the_onnxruntime_runner_finds_opencvs_faces(model_file, name):
    frame = vision.letterbox(cv2.imread(str(MEDIA_DIR / name)))
    opencv = cv2.FaceDetectorYN.create(str(model_file), "", (640, 480), 0.3, 0.3, 5000)
    _, rows = opencv.detect(frame)
    expected = np.column_stack([rows[:, :2], rows[:, :2] + rows[:, 2:4], rows[:, -1]])

    found = YunetModel(model_file, threads=1, nms_iou=0.3).detect(
        frame, input_size=(640, 480), threshold=0.3
    )

    order = np.lexsort((expected[:, 0], -expected[:, 4]))
    assert found == pytest.approx(expected[order], abs=1e-3)


def test_a_file_that_is_not_yunet_is_refused(tmp_path):
    scrfd = model_path("scrfd_500m", model_dir=MODEL_DIR)

    with pytest.raises(AnalysisError, match="is not a YuNet face detection model"):
        YunetModel(scrfd, threads=1, nms_iou=0.3)
    broken = tmp_path / "yunet.onnx"
    broken.write_bytes(b"nothing")
    with pytest.raises(AnalysisError, match="cannot load YuNet model"):
        YunetModel(broken, threads=1, nms_iou=0.3)


@pytest.mark.parametrize(
    ("main_input", "size", "refine"),
    [(None, (384, 288), True), ((320, 256), (384, 288), True), ((640, 480), (640, 480), False)],
)
def test_the_deployment_profile_picks_yunets_pass(main_input, size, refine):
    counter = vision.load_counter("yunet", MODEL_DIR, main_input=main_input)

    assert (counter._input_size, counter._refine) == (size, refine)


def test_the_fast_path_misses_only_its_known_weak_probes():
    yunet = vision.load_counter("yunet", MODEL_DIR, main_input=(320, 256))
    scrfd = vision.load_counter("scrfd_500m", MODEL_DIR, main_input=(320, 256))
    old_yunet = vision.load_counter("yunet", MODEL_DIR, main_input=(640, 480))
    frames = list(probe_frames())

    right = {
        name: {probe for probe, humans, bgr in frames if len(counter.detect(bgr)) == humans}
        for name, counter in (("yunet", yunet), ("scrfd", scrfd), ("old", old_yunet))
    }

    assert len(frames) == 111
    assert len(right["scrfd"]) == 111
    assert right["old"] <= right["yunet"]  # nothing the previous YuNet got right is lost
    missed = {probe for probe, _, _ in frames} - right["yunet"]
    # Still weak after issue #20 (docs/accuracy.md): a 25 px face looking down, and t1.jpg
    # washed out (its extra pass finds 5 of the 6 faces).
    assert missed == {
        "bg-head-1/12:t1-left@top-left",
        "bg-head-1/12:t1-left@top-right",
        "overexposed:t1.jpg",
    }
