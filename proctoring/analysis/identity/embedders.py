"""Face embeddings on onnxruntime: SFace (default) and MobileFaceNet (faster), both 128-d, both
Apache-2.0. An aligned 112x112 BGR crop in, a unit vector out; cosine similarity is a dot product.

Figures measured on real photos (../shared/models/MODELS.md) and on the project's development set
(docs/accuracy.md, "Identity"): SFace same person 0.54-0.81, different people at most 0.32; about
25 ms a face on one core in the rewritten graph of graph.py (45 ms as published). MobileFaceNet
same person 0.58-0.81, different people at most 0.36; about 4.5 ms. MobileFaceNet was trained
on "Refined MS-Celeb-1M", a data set Microsoft withdrew: a commercial user should weigh that
(README, docs/privacy.md).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.identity import graph
from proctoring.analysis.identity.align import ALIGNED_SIZE
from proctoring.analysis.models import EMBEDDER_NAMES, model_path

EMBEDDING_SIZE = 128
QUIET_LOG_LEVEL = 3  # SFace makes onnxruntime warn once per initializer otherwise
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
MAX_PIXEL = 255.0


def _sface_blob(rgb: np.ndarray) -> np.ndarray:
    # OpenCV Zoo's preprocessing: RGB as float 0-255, no mean or scale.
    return rgb.astype(np.float32).transpose(2, 0, 1)[None]


def _mobilefacenet_blob(rgb: np.ndarray) -> np.ndarray:
    # foamliu's: RGB / 255, ImageNet mean and std.
    scaled = (rgb.astype(np.float32) / MAX_PIXEL - IMAGENET_MEAN) / IMAGENET_STD
    return scaled.astype(np.float32).transpose(2, 0, 1)[None]


@dataclass(frozen=True)
class EmbedderSpec:
    """How to run one embedding model, and where its own similarity scale puts the decisions."""

    name: str
    input_name: str
    blob: Callable[[np.ndarray], np.ndarray]


SPECS: dict[str, EmbedderSpec] = {
    "sface": EmbedderSpec("sface", "data", _sface_blob),
    "mobilefacenet": EmbedderSpec("mobilefacenet", "input0", _mobilefacenet_blob),
}
assert tuple(SPECS) == EMBEDDER_NAMES


class FaceEmbedder:
    """One embedding model: `embed(aligned_bgr)` -> a unit float32 vector of 128 values."""

    def __init__(self, spec: EmbedderSpec, model_file: str | os.PathLike[str], *, threads: int):
        if threads < 1:
            raise AnalysisError(f"threads must be at least 1, got {threads}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = QUIET_LOG_LEVEL
        try:
            # The same function in a graph onnxruntime runs about 1.8x faster (graph.py).
            fast = graph.rewritten(onnx.load(os.fspath(model_file))).SerializeToString()
            self._session = ort.InferenceSession(fast, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnx and onnxruntime raise their own types for a bad file
            message = f"cannot load face embedding model {model_file}: {error}"
            raise AnalysisError(message) from error
        self.name = spec.name
        self._spec = spec

    def embed(self, aligned_bgr: np.ndarray) -> np.ndarray:
        if aligned_bgr.shape != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
            raise AnalysisError(f"an aligned face is 112x112x3, got {aligned_bgr.shape}")
        rgb = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2RGB)
        (vector,) = self._session.run(None, {self._spec.input_name: self._spec.blob(rgb)})
        return unit(vector[0])


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise AnalysisError("the face embedding is zero or not finite")
    return vector / norm


def load_embedder(
    name: str, model_dir: str | os.PathLike[str], *, threads: int = 1
) -> FaceEmbedder:
    """The embedding model `name` (one of EMBEDDER_NAMES) from `model_dir`."""
    spec = SPECS.get(name)
    if spec is None:
        known = ", ".join(SPECS)
        raise AnalysisError(f"unknown face embedding model {name!r}; choose one of: {known}")
    return FaceEmbedder(spec, model_path(name, model_dir=model_dir), threads=threads)


def similarity(references: np.ndarray, probe: np.ndarray) -> float:
    """The best cosine similarity of `probe` to any of the references (rows of unit vectors)."""
    refs = np.asarray(references, dtype=np.float32).reshape(-1, EMBEDDING_SIZE)
    if not len(refs):
        raise AnalysisError("no reference embedding to compare with")
    return float(np.max(refs @ np.asarray(probe, dtype=np.float32)))
