"""SCRFD face detection on onnxruntime, with the least Python around each inference.

InsightFace's own wrapper decodes every anchor's box and five landmarks before it keeps the few
that score, and runs the landmark head we never use. On a 128x128 refinement crop that was 0.57
of its 1.37 ms; on the 320x256 main pass 0.76 of 4.48 ms (docs/benchmarks.md, fourth session).
Here the landmark outputs are cut from the graph (onnxruntime then drops the nodes that fed
them), each input size gets its own fixed-shape session, and only the anchors over the threshold
are decoded. The identity check (issue #18) needs the five landmarks of the one face it embeds:
`keypoints=True` keeps the landmark head, and its rows carry the ten coordinates after the score.
The arithmetic is SCRFD's: letterbox to the top-left of the input, (RGB - 127.5) / 128, and
per stride 8, 16 and 32 two anchors per cell whose box is (left, top, right, bottom) distances
in strides from the cell's corner.
"""

import os
import threading

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from proctoring.analysis.errors import AnalysisError

INPUT_MEAN = 127.5
INPUT_STD = 128.0
STRIDES = (8, 16, 32)
ANCHORS_PER_CELL = 2
# det_500m's outputs: scores of each stride, then boxes, then landmarks (dropped here).
SCORE_AND_BOX_OUTPUTS = 2 * len(STRIDES)
LANDMARK_OUTPUTS = 3 * len(STRIDES)
# Above this many boxes NMS works row by row: the pairwise matrix would take 4 MB per temporary.
NMS_MATRIX_MAX_ROWS = 1024


class ScrfdModel:
    """An SCRFD ONNX model: `detect(image, input_size, threshold)` -> rows x1 y1 x2 y2 score,
    then (with `keypoints`) the five landmarks x y: eyes, nose, mouth corners."""

    def __init__(
        self,
        model_file: str | os.PathLike[str],
        *,
        threads: int,
        nms_iou: float,
        keypoints: bool = False,
    ) -> None:
        self._keypoints = keypoints
        self._graph = _score_and_box_graph(model_file, keypoints=keypoints)
        self._input_name = self._graph.graph.input[0].name
        self._threads = threads
        self._nms_iou = nms_iou
        self._sessions: dict[tuple[int, int], ort.InferenceSession] = {}
        self._centers: dict[tuple[int, int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    def detect(
        self, bgr: np.ndarray, *, input_size: tuple[int, int], threshold: float
    ) -> np.ndarray:
        """Faces scoring `threshold` or more, in the image's pixels, after SCRFD's own NMS."""
        blob, scale = _blob(bgr, input_size)
        outputs = self._session(input_size).run(None, {self._input_name: blob})
        rows = [
            self._decode(outputs, index, input_size, threshold) for index in range(len(STRIDES))
        ]
        found = np.vstack(rows)
        found[:, :4] /= scale
        found[:, 5:] /= scale
        return non_max_suppression(found, iou_threshold=self._nms_iou, side_offset=1.0)

    def _decode(self, outputs, index: int, input_size, threshold: float) -> np.ndarray:
        scores = outputs[index][:, 0]
        keep = np.flatnonzero(scores >= threshold)
        if not keep.size:
            return np.empty((0, 15 if self._keypoints else 5), dtype=np.float32)
        stride = STRIDES[index]
        distances = outputs[index + len(STRIDES)][keep] * stride
        centers = self._anchor_centers(input_size, stride)[keep]
        boxes = np.hstack([centers - distances[:, :2], centers + distances[:, 2:]])
        columns = [boxes, scores[keep, None]]
        if self._keypoints:
            # SCRFD's distance2kps: each landmark is an offset in strides from the anchor centre.
            points = outputs[index + 2 * len(STRIDES)][keep] * stride
            columns.append(points + np.tile(centers, 5))
        return np.hstack(columns).astype(np.float32, copy=False)

    def _anchor_centers(self, input_size: tuple[int, int], stride: int) -> np.ndarray:
        key = (*input_size, stride)
        centers = self._centers.get(key)
        if centers is None:
            width, height = input_size[0] // stride, input_size[1] // stride
            rows, cols = np.mgrid[:height, :width]
            cells = np.stack([cols, rows], axis=-1).reshape(-1, 2).astype(np.float32) * stride
            centers = np.repeat(cells, ANCHORS_PER_CELL, axis=0)
            self._centers[key] = centers
        return centers

    def _session(self, input_size: tuple[int, int]) -> ort.InferenceSession:
        session = self._sessions.get(input_size)
        if session is None:
            with self._lock:
                session = self._sessions.get(input_size) or self._new_session(input_size)
                self._sessions[input_size] = session
        return session

    def _new_session(self, input_size: tuple[int, int]) -> ort.InferenceSession:
        """A session for one input size: onnxruntime plans a fixed-shape graph once."""
        graph = onnx.ModelProto()
        graph.CopyFrom(self._graph)
        dims = graph.graph.input[0].type.tensor_type.shape.dim
        for dim, value in zip(dims[2:], (input_size[1], input_size[0]), strict=True):
            dim.ClearField("dim_param")
            dim.dim_value = value
        for output in graph.graph.output:
            output.type.tensor_type.ClearField("shape")  # declared for 640x640: let ORT infer
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )


def _score_and_box_graph(
    model_file: str | os.PathLike[str], *, keypoints: bool = False
) -> onnx.ModelProto:
    try:
        graph = onnx.load(os.fspath(model_file))
    except Exception as error:  # onnx raises DecodeError, OSError and others for a bad file
        raise AnalysisError(f"cannot load SCRFD model {model_file}: {error}") from error
    outputs = graph.graph.output
    if len(outputs) not in (SCORE_AND_BOX_OUTPUTS, LANDMARK_OUTPUTS) or len(graph.graph.input) != 1:
        raise AnalysisError(
            f"{model_file} is not an SCRFD face detection model (inputs/outputs: "
            f"{len(graph.graph.input)}/{len(outputs)}, expected 1/6 or 1/9)"
        )
    if keypoints and len(outputs) != LANDMARK_OUTPUTS:
        raise AnalysisError(f"{model_file} has no landmark outputs (a KPS model is needed)")
    if not keypoints:
        del outputs[SCORE_AND_BOX_OUTPUTS:]
    return graph


def _blob(bgr: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """The image letterboxed into the input's top-left corner, as SCRFD's NCHW float blob."""
    width, height = input_size
    image_ratio = bgr.shape[0] / bgr.shape[1]
    # Rounded as the reference does, so that boxes come out the same to the last bit.
    if image_ratio > height / width:
        fitted_h, fitted_w = height, int(height / image_ratio)
    else:
        fitted_w, fitted_h = width, int(width * image_ratio)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[:fitted_h, :fitted_w] = cv2.resize(bgr, (fitted_w, fitted_h))
    blob = cv2.dnn.blobFromImage(
        canvas, 1.0 / INPUT_STD, input_size, (INPUT_MEAN,) * 3, swapRB=True
    )
    return blob, fitted_h / bgr.shape[0]


def non_max_suppression(
    detections: np.ndarray, *, iou_threshold: float, side_offset: float = 0.0
) -> np.ndarray:
    """Rows [x1, y1, x2, y2, score] kept by greedy NMS, best score first.

    SCRFD's reference NMS counts box sides inclusively: `side_offset=1` reproduces it.
    """
    order = np.argsort(-detections[:, 4], kind="stable")
    boxes = detections[order, :4]
    if len(boxes) > NMS_MATRIX_MAX_ROWS:
        return detections[order[_greedy_keep_rowwise(boxes, iou_threshold, side_offset)]]
    return detections[order[_greedy_keep(boxes, iou_threshold, side_offset)]]


def _greedy_keep(boxes: np.ndarray, iou_threshold: float, side_offset: float) -> list[int]:
    """Greedy NMS over boxes sorted best first, with every pair's IoU computed at once.

    The main pass keeps about 90 anchors at the candidate threshold: one matrix and a cheap loop
    cost about a third of suppressing them row by row. Same arithmetic, so the same boxes.
    """
    suppressed = _pairwise_iou(boxes, boxes, side_offset) > iou_threshold
    alive = np.ones(len(boxes), dtype=bool)
    keep = []
    for index in range(len(boxes)):
        if alive[index]:
            keep.append(index)
            alive &= ~suppressed[index]
    return keep


def _greedy_keep_rowwise(boxes: np.ndarray, iou_threshold: float, side_offset: float) -> list[int]:
    """The same greedy NMS in memory linear in the boxes, for a frame that keeps very many."""
    remaining = np.arange(len(boxes))
    keep = []
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        keep.append(int(best))
        iou = _pairwise_iou(boxes[best : best + 1], boxes[rest], side_offset)[0]
        remaining = rest[iou <= iou_threshold]
    return keep


def _pairwise_iou(first: np.ndarray, second: np.ndarray, side_offset: float) -> np.ndarray:
    """IoU of every box of `first` with every box of `second`: shape (len(first), len(second))."""
    overlap = pairwise_overlap(first, second, side_offset=side_offset)
    first_areas = box_areas(first, side_offset=side_offset)[:, None]
    return iou_from_overlap(overlap, first_areas, box_areas(second, side_offset=side_offset))


def pairwise_overlap(
    first: np.ndarray, second: np.ndarray, *, side_offset: float = 0.0
) -> np.ndarray:
    """Intersection area of every box (row x1 y1 x2 y2 ...) of `first` with every one of `second`.

    One coordinate at a time: numpy broadcasts 2-D arrays several times faster than a trailing
    axis of 2 (92 boxes: about 40 us against 470 us).
    """
    x1, y1, x2, y2 = (first[:, index, None] for index in range(4))
    u1, v1, u2, v2 = (second[None, :, index] for index in range(4))
    widths = np.clip(np.minimum(x2, u2) - np.maximum(x1, u1) + side_offset, 0, None)
    heights = np.clip(np.minimum(y2, v2) - np.maximum(y1, v1) + side_offset, 0, None)
    return widths * heights


def iou_from_overlap(
    overlap: np.ndarray, first_areas: np.ndarray, second_areas: np.ndarray
) -> np.ndarray:
    """IoU from pairwise overlaps, `first_areas` as a column, `second_areas` as a row."""
    return overlap / np.maximum(first_areas + second_areas - overlap, np.finfo(np.float32).eps)


def box_areas(boxes: np.ndarray, *, side_offset: float = 0.0) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0] + side_offset) * (boxes[:, 3] - boxes[:, 1] + side_offset)
