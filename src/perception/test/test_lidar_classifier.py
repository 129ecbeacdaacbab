"""The ONNX point-set classifier wrapper: layout checks at start-up and inference (tiny models built
with the ``onnx`` package: no torch needed)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lsv_perception.lidar.classifier import CLASS_IDS, NUM_FEATURES, ModelLoadError, PointClassifier
from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline

LABELS = ["static_obstacle", "car", "pedestrian"]


def tiny_model(path: Path, num_points: int | str = 16, features: int = NUM_FEATURES, classes: int = 3,
               weights: np.ndarray | None = None, inputs: int = 1) -> Path:
    """points [batch, P, F] -> max over points -> MatMul (F, K) -> softmax [batch, K]."""
    w = weights if weights is not None else np.zeros((features, classes), np.float32)
    nodes = [helper.make_node("ReduceMax", ["points"], ["pooled"], axes=[1], keepdims=0),
             helper.make_node("MatMul", ["pooled", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["scores"], axis=1)]
    ins = [helper.make_tensor_value_info("points", TensorProto.FLOAT, ["batch", num_points, features])]
    ins += [helper.make_tensor_value_info(f"extra{i}", TensorProto.FLOAT, ["batch", 1]) for i in range(inputs - 1)]
    graph = helper.make_graph(nodes, "tiny", ins,
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", classes])],
                              initializer=[numpy_helper.from_array(w.astype(np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    path.with_suffix(".labels").write_text("\n".join(LABELS[:classes] + ["car"] * max(0, classes - 3)) + "\n")
    return path


def test_a_matching_model_loads_and_classifies(tmp_path):
    # feature 2 (height above ground) decides: the pedestrian logit grows with height
    w = np.zeros((NUM_FEATURES, 3), np.float32)
    w[2, 2] = 10.0
    clf = PointClassifier(tiny_model(tmp_path / "m.onnx", 16, weights=w), 16)
    assert clf.names == LABELS
    feats = np.zeros((2, 16, NUM_FEATURES), np.float32)
    feats[1, :, 2] = 1.7
    ids, scores = clf(feats)
    assert ids.tolist() == [CLASS_IDS["static_obstacle"], CLASS_IDS["pedestrian"]]
    assert scores[1] > 0.99 and abs(scores[0] - 1 / 3) < 1e-5
    ids, scores = clf(np.zeros((0, 16, NUM_FEATURES), np.float32))
    assert ids.shape == scores.shape == (0,)


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(ModelLoadError, match=re.escape(str(tmp_path / "nope.onnx"))):
        PointClassifier(tmp_path / "nope.onnx", 16)


def test_malformed_model_names_the_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"definitely not a protobuf")
    bad.with_suffix(".labels").write_text("car\n")
    with pytest.raises(ModelLoadError, match=r"bad\.onnx: not a loadable ONNX model"):
        PointClassifier(bad, 16)


def test_wrong_point_count_names_file_expected_and_actual_shapes(tmp_path):
    path = tiny_model(tmp_path / "m32.onnx", 32)
    with pytest.raises(ModelLoadError) as err:
        PointClassifier(path, 64)
    text = str(err.value)
    assert "m32.onnx" in text and "['batch', 64, 9]" in text and "['batch', 32, 9]" in text


def test_wrong_feature_count_and_dynamic_points_are_rejected(tmp_path):
    with pytest.raises(ModelLoadError, match=r"expected one float32 input of shape \['batch', 16, 9\].*16, 4\]"):
        PointClassifier(tiny_model(tmp_path / "f4.onnx", 16, features=4), 16)
    with pytest.raises(ModelLoadError, match=r"got 1 input\(s\) of shape \['batch', 'N', 9\]"):
        PointClassifier(tiny_model(tmp_path / "dyn.onnx", "N"), 16)
    with pytest.raises(ModelLoadError, match=r"got 2 input\(s\)"):
        PointClassifier(tiny_model(tmp_path / "two.onnx", 16, inputs=2), 16)


def test_output_count_must_match_the_labels(tmp_path):
    path = tiny_model(tmp_path / "m.onnx", 16, classes=3)
    path.with_suffix(".labels").write_text("car\npedestrian\n")
    with pytest.raises(ModelLoadError, match=r"m\.onnx: output shape .*expected \['batch', 2\].*got \['batch', 3\]"):
        PointClassifier(path, 16)


def test_labels_file_missing_or_unknown_class(tmp_path):
    path = tiny_model(tmp_path / "m.onnx", 16)
    path.with_suffix(".labels").unlink()
    with pytest.raises(ModelLoadError, match=r"labels file not found: .*m\.labels"):
        PointClassifier(path, 16)
    path.with_suffix(".labels").write_text("car\nunicorn\npedestrian\n")
    with pytest.raises(ModelLoadError, match="unicorn"):
        PointClassifier(path, 16)


def test_pipeline_fails_at_construction_on_a_bad_model(tmp_path):
    with pytest.raises(ModelLoadError, match="point classifier model not found"):
        LidarPipeline(LidarConfig(model_path=str(tmp_path / "missing.onnx")))
    path = tiny_model(tmp_path / "m.onnx", 16)
    with pytest.raises(ModelLoadError, match=r"\['batch', 64, 9\]"):
        LidarPipeline(LidarConfig(model_path=str(path)))  # default num_points 64
    pipe = LidarPipeline(LidarConfig(model_path=str(path), num_points=16))
    assert pipe.process(np.zeros((0, 4), np.float32)).count == 0


def test_model_load_error_is_a_configuration_error():
    from lsv_common.params import ParameterError

    assert issubclass(ModelLoadError, ParameterError)  # run_node prints it and exits with status 2
