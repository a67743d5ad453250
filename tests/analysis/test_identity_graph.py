"""The embedding models' graph rewrite (decision 0020) computes what the published graph does."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from proctoring.analysis.identity import devset, graph
from proctoring.analysis.identity.align import align_face
from proctoring.analysis.identity.embedders import SPECS
from proctoring.analysis.identity.landmarks import FaceLandmarker
from proctoring.analysis.models import model_path
from proctoring.analysis.vision import load_counter

# Slopes on both sides of 0 and of 1: max(x, a * x) would be wrong above 1, a sign trick below 0.
SLOPES = np.array([-0.8, 0.0, 0.25, 1.0, 1.12], dtype=np.float32).reshape(5, 1, 1)


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    return ort.InferenceSession(model.SerializeToString(), options, providers=providers)


def _prelu_model() -> onnx.ModelProto:
    slope = numpy_helper.from_array(SLOPES, "slope")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, 4, 4])
    # The weight listed as an input too, as SFace lists all of its 174.
    listed = helper.make_tensor_value_info("slope", TensorProto.FLOAT, [5, 1, 1])
    body = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"], name="act")],
        "prelu",
        [x, listed],
        [y],
        initializer=[slope],
    )
    return helper.make_model(body, opset_imports=[helper.make_opsetid("", 13)])


def test_a_prelu_with_any_slope_computes_the_same_after_the_rewrite():
    original = _prelu_model()
    fast = graph.rewritten(original)
    x = np.random.default_rng(20).normal(0, 3, (1, 5, 4, 4)).astype(np.float32)
    expected = np.where(x > 0, x, SLOPES * x)
    (before,) = _session(original).run(None, {"x": x})
    (after,) = _session(fast).run(None, {"x": x})
    np.testing.assert_allclose(before, expected, rtol=1e-6)
    np.testing.assert_allclose(after, expected, rtol=1e-6, atol=1e-6)
    assert [node.op_type for node in fast.graph.node] == ["Min", "Mul", "Add"]
    assert [value.name for value in fast.graph.input] == ["x"]
    assert [node.op_type for node in original.graph.node] == ["PRelu"]  # the input is not touched


@pytest.fixture(scope="module")
def aligned_faces(model_dir, media_dir):
    counter = load_counter("scrfd_500m", model_dir)
    landmarker = FaceLandmarker("scrfd_500m", model_dir)
    faces = []
    for person in devset.people(media_dir, counter):
        for _, frame in list(devset.probe_frames(person))[::6]:
            found = counter.detect(frame)
            located = landmarker.locate(frame, found[0].box) if len(found) == 1 else None
            if located is not None:
                faces.append(align_face(frame, located.points))
    assert len(faces) >= 30
    return faces


@pytest.mark.parametrize("model", ["sface", "mobilefacenet"])
def test_the_rewritten_embedding_model_gives_the_published_embeddings(
    model, model_dir, aligned_faces
):
    published = onnx.load(str(model_path(model, model_dir=model_dir)))
    spec = SPECS[model]
    sessions = [_session(published), _session(graph.rewritten(published))]
    for face in aligned_faces:
        blob = spec.blob(face[:, :, ::-1].copy())
        before, after = (s.run(None, {spec.input_name: blob})[0][0] for s in sessions)
        cosine = float(before @ after / np.linalg.norm(before) / np.linalg.norm(after))
        assert cosine > 0.99999
        np.testing.assert_allclose(after, before, rtol=1e-3, atol=1e-4 * np.abs(before).max())


def test_sface_runs_without_prelu_or_weights_as_inputs(model_dir):
    fast = graph.rewritten(onnx.load(str(model_path("sface", model_dir=model_dir))))
    assert "PRelu" not in {node.op_type for node in fast.graph.node}
    assert [value.name for value in fast.graph.input] == [SPECS["sface"].input_name]
