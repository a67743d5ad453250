"""YuNet face detection on onnxruntime, decoded exactly as OpenCV's cv2.FaceDetectorYN decodes it.

OpenCV runs the 2023mar model at 640x480 in about 18 ms on one core; onnxruntime runs the same
graph in about 10 ms (docs/benchmarks.md, issue #20). The graph declares a fixed 640x640 input,
but nothing in it depends on that: each input size (multiples of 32) gets its own fixed-shape
session, as SCRFD's do. The landmark outputs are cut off. Decoding, per stride 8, 16 and 32 with
one anchor per cell: score = sqrt(clip(cls) * clip(obj)); centre = (cell + offset) * stride;
size = exp(log-size) * stride; then NMS. The input is the BGR frame as float 0-255, resized to
fit the input and placed top-left on black (OpenCV pads bottom and right the same way).
`keypoints=True` keeps the landmark outputs for the identity check (issue #18): each landmark is
(cell + offset) * stride, as OpenCV decodes it, in the order eyes, nose, mouth corners.
"""

import os
import threading

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.scrfd import non_max_suppression

STRIDES = (8, 16, 32)
KEPT_OUTPUTS = ("cls", "obj", "bbox")  # the "kps" (landmark) outputs are dropped
LANDMARK_OUTPUT = "kps"  # kept only with keypoints=True
QUIET_LOG_LEVEL = 3  # the graph's 640x640 shape hints make onnxruntime warn at other sizes


class YunetModel:
    """The YuNet ONNX model: `detect(image, input_size, threshold)` -> rows x1 y1 x2 y2 score."""

    def __init__(
        self,
        model_file: str | os.PathLike[str],
        *,
        threads: int,
        nms_iou: float,
        keypoints: bool = False,
    ) -> None:
        self._keypoints = keypoints
        self._graph = _detection_graph(model_file, keypoints=keypoints)
        self._names = [output.name for output in self._graph.graph.output]
        self._threads = threads
        self._nms_iou = nms_iou
        self._sessions: dict[tuple[int, int], ort.InferenceSession] = {}
        self._lock = threading.Lock()

    def detect(
        self, bgr: np.ndarray, *, input_size: tuple[int, int], threshold: float
    ) -> np.ndarray:
        """Faces scoring `threshold` or more, in the image's pixels, after YuNet's own NMS."""
        blob, scale = _blob(bgr, input_size)
        outputs = dict(
            zip(
                self._names,
                self._session(input_size).run(self._names, {"input": blob}),
                strict=True,
            )
        )
        rows = [
            _decode(outputs, stride, input_size, threshold, keypoints=self._keypoints)
            for stride in STRIDES
        ]
        found = np.vstack(rows)
        found[:, :4] /= scale
        found[:, 5:] /= scale
        return non_max_suppression(found, iou_threshold=self._nms_iou)

    def _session(self, input_size: tuple[int, int]) -> ort.InferenceSession:
        session = self._sessions.get(input_size)
        if session is None:
            with self._lock:
                session = self._sessions.get(input_size) or self._new_session(input_size)
                self._sessions[input_size] = session
        return session

    def _new_session(self, input_size: tuple[int, int]) -> ort.InferenceSession:
        graph = onnx.ModelProto()
        graph.CopyFrom(self._graph)
        dims = graph.graph.input[0].type.tensor_type.shape.dim
        for dim, value in zip(dims[2:], (input_size[1], input_size[0]), strict=True):
            dim.ClearField("dim_param")
            dim.dim_value = value
        for output in graph.graph.output:
            output.type.tensor_type.ClearField("shape")
        del graph.graph.value_info[:]  # intermediate shapes declared for 640x640
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = QUIET_LOG_LEVEL
        return ort.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )


def _detection_graph(
    model_file: str | os.PathLike[str], *, keypoints: bool = False
) -> onnx.ModelProto:
    try:
        graph = onnx.load(os.fspath(model_file))
    except Exception as error:  # onnx raises DecodeError, OSError and others for a bad file
        raise AnalysisError(f"cannot load YuNet model {model_file}: {error}") from error
    kinds = (*KEPT_OUTPUTS, LANDMARK_OUTPUT) if keypoints else KEPT_OUTPUTS
    wanted = {f"{kind}_{stride}" for kind in kinds for stride in STRIDES}
    outputs = graph.graph.output
    if not wanted <= {output.name for output in outputs} or len(graph.graph.input) != 1:
        raise AnalysisError(f"{model_file} is not a YuNet face detection model")
    kept = [output for output in outputs if output.name in wanted]
    del outputs[:]
    outputs.extend(kept)
    return graph


def _blob(bgr: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """The image resized to fit the input, top-left on black, as a float NCHW BGR blob."""
    width, height = input_size
    scale = min(width / bgr.shape[1], height / bgr.shape[0])
    fitted_w = max(1, min(width, round(bgr.shape[1] * scale)))
    fitted_h = max(1, min(height, round(bgr.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[:fitted_h, :fitted_w] = cv2.resize(bgr, (fitted_w, fitted_h))
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), fitted_h / bgr.shape[0]


def _decode(
    outputs, stride: int, input_size: tuple[int, int], threshold: float, *, keypoints: bool = False
) -> np.ndarray:
    cls = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0.0, 1.0)
    obj = np.clip(outputs[f"obj_{stride}"][0, :, 0], 0.0, 1.0)
    scores = np.sqrt(cls * obj)
    keep = np.flatnonzero(scores >= threshold)
    if not keep.size:
        return np.empty((0, 15 if keypoints else 5), dtype=np.float32)
    rows, cols = np.divmod(keep, input_size[0] // stride)
    offsets = outputs[f"bbox_{stride}"][0][keep]
    centre_x = (cols + offsets[:, 0]) * stride
    centre_y = (rows + offsets[:, 1]) * stride
    half_w, half_h = np.exp(offsets[:, 2]) * stride / 2, np.exp(offsets[:, 3]) * stride / 2
    boxes = np.stack(
        [centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], axis=1
    )
    columns = [boxes, scores[keep, None]]
    if keypoints:
        cells = np.tile(np.stack([cols, rows], axis=1), 5)
        columns.append((outputs[f"kps_{stride}"][0][keep] + cells) * stride)
    return np.hstack(columns).astype(np.float32)
