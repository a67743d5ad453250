"""The lean SCRFD runner finds exactly what InsightFace's own SCRFD wrapper finds."""

import cv2
import numpy as np
import pytest

from proctoring.analysis import scrfd
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.models import model_path
from proctoring.analysis.scrfd import ScrfdModel, non_max_suppression
from proctoring.analysis.vision import letterbox

# The counter's passes: main, close-up, a refinement crop, and the large profile's main pass.
INPUT_SIZES = [(320, 256), (160, 128), (96, 96), (128, 128), (640, 480)]
CANDIDATE_SCORE = 0.1
NMS_IOU = 0.4


@pytest.fixture(scope="module", params=["scrfd_500m", "scrfd_2.5g"])
def models(request, model_dir):
    from insightface.model_zoo import get_model

    path = model_path(request.param, model_dir=model_dir)
    reference = get_model(str(path), providers=["CPUExecutionProvider"])
    reference.prepare(ctx_id=-1, input_size=INPUT_SIZES[0], det_thresh=CANDIDATE_SCORE)
    reference.nms_thresh = NMS_IOU
    return ScrfdModel(path, threads=1, nms_iou=NMS_IOU), reference


def labelled_frames(media_dir, expected) -> list[np.ndarray]:
    images = [cv2.imread(str(media_dir / name)) for name in expected["images"]]
    crops = [image[: image.shape[0] // 2, : image.shape[1] // 2] for image in images]
    return images + [letterbox(image) for image in images] + crops


def test_boxes_and_scores_are_the_reference_wrappers_to_the_bit(models, media_dir, expected):
    lean, reference = models
    compared = 0
    for frame in labelled_frames(media_dir, expected):
        for size in INPUT_SIZES:
            ours = lean.detect(frame, input_size=size, threshold=CANDIDATE_SCORE)
            theirs = reference.detect(frame, input_size=size)[0]
            np.testing.assert_array_equal(ours, theirs)
            compared += len(theirs)
    assert compared > 100  # faces and candidates, not empty arrays compared with each other


def test_a_higher_threshold_keeps_the_same_sure_faces(models, media_dir):
    lean, _ = models
    frame = cv2.imread(str(media_dir / "t1.jpg"))

    everything = lean.detect(frame, input_size=INPUT_SIZES[0], threshold=CANDIDATE_SCORE)
    sure = lean.detect(frame, input_size=INPUT_SIZES[0], threshold=0.5)

    np.testing.assert_array_equal(sure, everything[everything[:, 4] >= 0.5])
    assert len(sure) == 6


def test_a_model_that_is_not_scrfd_is_refused(model_dir):
    yunet = model_path("yunet", model_dir=model_dir)

    with pytest.raises(AnalysisError, match="is not an SCRFD face detection model"):
        ScrfdModel(yunet, threads=1, nms_iou=NMS_IOU)


def _clustered_detections(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Boxes around a few faces, as an anchor grid finds them: many overlapping, some apart."""
    centres = rng.uniform(40, 600, size=(6, 2))[rng.integers(0, 6, size=rows)]
    centres += rng.normal(0, 6, size=(rows, 2))
    halves = rng.uniform(10, 40, size=(rows, 2))
    scores = rng.uniform(0.1, 1.0, size=(rows, 1))
    return np.hstack([centres - halves, centres + halves, scores]).astype(np.float32)


@pytest.mark.parametrize("side_offset", [0.0, 1.0])
def test_pairwise_and_row_by_row_nms_keep_the_same_rows(side_offset):
    rng = np.random.default_rng(7)
    for rows in (1, 2, 90, 400):
        detections = _clustered_detections(rng, rows)
        order = np.argsort(-detections[:, 4], kind="stable")
        boxes = detections[order, :4]

        pairwise = scrfd._greedy_keep(boxes, 0.4, side_offset)
        row_by_row = scrfd._greedy_keep_rowwise(boxes, 0.4, side_offset)

        assert pairwise == row_by_row
        assert pairwise[0] == 0  # the best box is always kept
        if rows >= 90:
            assert len(pairwise) < rows / 2  # overlapping boxes really were suppressed


def test_nms_past_the_matrix_bound_keeps_what_the_matrix_would(monkeypatch):
    detections = _clustered_detections(np.random.default_rng(3), 300)
    pairwise = non_max_suppression(detections, iou_threshold=0.4, side_offset=1.0)

    monkeypatch.setattr(scrfd, "NMS_MATRIX_MAX_ROWS", 100)
    row_by_row = non_max_suppression(detections, iou_threshold=0.4, side_offset=1.0)

    assert np.array_equal(pairwise, row_by_row)
