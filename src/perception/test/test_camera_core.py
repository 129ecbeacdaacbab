"""Camera detector core: letterbox, the three layout decoders and class-wise NMS against hand-computed
boxes, labels, stale frames, and the ONNX Runtime wrapper on tiny models built with onnx.helper
(bad model files, shape mismatches, zero-size images)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lsv_perception.camera.decode import (
    decode_yolov5,
    decode_yolov8,
    decode_yolox,
    iou_matrix,
    nms_classwise,
    yolox_grid,
)
from lsv_perception.camera.detector import CameraDetector, DetectorConfig, ModelLoadError
from lsv_perception.camera.labels import CLASSIFICATIONS, LabelsError, classification_of, load_labels
from lsv_perception.camera.preprocess import PAD_VALUE, Letterbox, letterbox_geometry

# -- tiny ONNX models --------------------------------------------------------------------------


def constant_model(path: Path, output: np.ndarray, input_shape=(1, 3, 64, 64), opset: int = 17) -> Path:
    """An ONNX model whose output is ``output`` (float32) whatever the input (+ 0 x mean(input))."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    out = np.asarray(output, np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["const", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out.shape))],
        initializer=[numpy_helper.from_array(out, "const"), numpy_helper.from_array(np.zeros(1, np.float32), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def labels_file(path: Path, names: list[str]) -> Path:
    path.write_text("\n".join(names) + "\n")
    return path


def config(model: Path, labels: Path, **kw) -> DetectorConfig:
    return DetectorConfig(model_path=str(model), labels_path=str(labels), intra_op_threads=1,
                          providers=("CPUExecutionProvider",), **kw)


# -- letterbox ---------------------------------------------------------------------------------


def test_letterbox_geometry_of_a_640x480_frame_in_a_320x256_input() -> None:
    assert letterbox_geometry(480, 640, 256, 320) == (0.5, 320, 240, 0, 8)
    assert letterbox_geometry(480, 640, 640, 640) == (1.0, 640, 480, 0, 80)
    assert letterbox_geometry(480, 640, 640, 640, centre=False) == (1.0, 640, 480, 0, 0)


def test_letterbox_tensor_padding_and_box_round_trip() -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, :, 0] = 255  # pure red
    lb = Letterbox(256, 320)
    tensor, info = lb(img)
    assert tensor.shape == (1, 3, 256, 320) and tensor.dtype == np.float32
    assert tensor[0, 0, 100, 100] == pytest.approx(1.0) and tensor[0, 1, 100, 100] == pytest.approx(0.0)
    assert tensor[0, :, 3, 100] == pytest.approx(PAD_VALUE / 255.0)  # top padding rows 0..7
    assert tensor[0, 0, 252, 100] == pytest.approx(PAD_VALUE / 255.0)  # bottom padding rows 248..255
    boxes = np.array([[10.0, 18.0, 110.0, 58.0]], np.float32)  # input px
    np.testing.assert_allclose(info.to_original(boxes), [[20.0, 20.0, 220.0, 100.0]])
    bgr = Letterbox(256, 320, bgr=True)(img)[0]
    assert bgr[0, 2, 100, 100] == pytest.approx(1.0) and bgr[0, 0, 100, 100] == pytest.approx(0.0)


def test_letterbox_clears_old_padding_when_the_image_size_changes() -> None:
    lb = Letterbox(64, 64, pixel_scale=1.0)
    lb(np.full((64, 64, 3), 7, np.uint8))
    tensor, info = lb(np.full((32, 64, 3), 7, np.uint8))
    assert info.pad_y == 16 and tensor[0, 0, 0, 0] == PAD_VALUE and tensor[0, 0, 30, 0] == 7


# -- decoders ----------------------------------------------------------------------------------


def test_decode_yolov8_hand_computed_and_transposed() -> None:
    # 3 candidates, 2 classes: rows cx, cy, w, h, score class 0, score class 1
    out = np.array([[[50.0, 10.0, 30.0], [40.0, 10.0, 30.0], [20.0, 4.0, 8.0], [10.0, 4.0, 8.0],
                     [0.1, 0.2, 0.6], [0.9, 0.25, 0.1]]], np.float32)
    boxes, scores, cls = decode_yolov8(out, 2, 0.3)
    np.testing.assert_allclose(boxes, [[40.0, 35.0, 60.0, 45.0], [26.0, 26.0, 34.0, 34.0]])
    np.testing.assert_allclose(scores, [0.9, 0.6])
    assert cls.tolist() == [1, 0]
    b2, s2, c2 = decode_yolov8(out.transpose(0, 2, 1).copy(), 2, 0.3)
    np.testing.assert_array_equal(b2, boxes)
    np.testing.assert_array_equal(s2, scores)
    np.testing.assert_array_equal(c2, cls)
    assert len(decode_yolov8(out, 2, 0.95)[0]) == 0


def test_decode_yolov5_multiplies_objectness_and_class_probability() -> None:
    out = np.array([[[50.0, 40.0, 20.0, 10.0, 0.8, 0.5, 0.9],  # 0.8 * 0.9 = 0.72, class 1
                     [10.0, 10.0, 4.0, 4.0, 0.5, 0.5, 0.1],  # 0.25: below
                     [30.0, 30.0, 10.0, 20.0, 0.2, 1.0, 1.0]]], np.float32)  # objectness below threshold
    boxes, scores, cls = decode_yolov5(out, 2, 0.3)
    np.testing.assert_allclose(boxes, [[40.0, 35.0, 60.0, 45.0]])
    np.testing.assert_allclose(scores, [0.72], rtol=1e-6)
    assert cls.tolist() == [1]


def test_decode_yolox_uses_grid_and_strides() -> None:
    grid, strides = yolox_grid(64, 64)
    assert len(grid) == 64 + 16 + 4
    out = np.zeros((1, 84, 5 + 2), np.float32)
    # stride 8, cell (x=1, y=2) = index 2 * 8 + 1 = 17: offset (0.5, 0.5), w = e^ln2 cells = 16 px, h = 8 px
    out[0, 17] = [0.5, 0.5, math.log(2.0), 0.0, 0.9, 0.2, 1.0]
    # stride 16, cell (x=3, y=0) = index 64 + 3: centre (3 * 16, 0), w = h = 16 px
    out[0, 67] = [0.0, 0.0, 0.0, 0.0, 0.5, 0.8, 0.1]
    boxes, scores, cls = decode_yolox(out, 2, 0.3, grid, strides)
    np.testing.assert_allclose(boxes, [[4.0, 16.0, 20.0, 24.0], [40.0, -8.0, 56.0, 8.0]], atol=1e-5)
    np.testing.assert_allclose(scores, [0.9, 0.4], rtol=1e-6)
    assert cls.tolist() == [1, 0]


def test_iou_matrix_hand_computed() -> None:
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]])
    np.testing.assert_allclose(iou_matrix(a, b), [[50.0 / 150.0, 0.0, 1.0]])


def test_nms_is_class_wise_and_uses_the_iou_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5], np.float32)
    cls = np.array([0, 0, 1, 0, 0])
    # IoU(0, 1) = 90 / 110 = 0.82 -> 1 suppressed; 2 is another class -> kept; IoU(0, 3) = 1/3 -> kept
    assert nms_classwise(boxes, scores, cls, 0.5).tolist() == [0, 2, 3, 4]
    assert nms_classwise(boxes, scores, cls, 0.85).tolist() == [0, 1, 2, 3, 4]
    assert nms_classwise(boxes, scores, cls, 0.3).tolist() == [0, 2, 4]
    assert nms_classwise(boxes, scores, cls, 0.5, max_detections=2).tolist() == [0, 2]
    assert nms_classwise(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0), 0.5).tolist() == []


# -- labels, stale frames --------------------------------------------------------------------------


def test_classifications_match_the_message_constants() -> None:
    from lsv_msgs.msg import DetectedObject

    for name, value in CLASSIFICATIONS.items():
        assert getattr(DetectedObject, f"CLASS_{name.upper()}") == value


def test_labels_file_names_aliases_and_explicit_mapping(tmp_path: Path) -> None:
    path = tmp_path / "l.labels"
    path.write_text("# comment\npedestrian\nPerson\nbicycle\n\ntraffic light\nbox = static_obstacle\n")
    names, classes = load_labels(path)
    assert names == ["pedestrian", "Person", "bicycle", "traffic light", "box"]
    assert classes.tolist() == [6, 6, 4, 0, 9]
    assert classification_of("fire-truck") == CLASSIFICATIONS["emergency_vehicle"]
    path.write_text("box = spaceship\n")
    with pytest.raises(LabelsError, match="spaceship"):
        load_labels(path)
    path.write_text("# nothing\n")
    with pytest.raises(LabelsError, match="no class names"):
        load_labels(path)


def test_committed_labels_map_to_message_classes() -> None:
    from lsv_perception.camera.detector import default_labels_path

    names, classes = load_labels(default_labels_path())
    assert dict(zip(names, classes.tolist(), strict=True)) == {
        "pedestrian": 6, "cyclist": 4, "car": 1, "truck": 2, "emergency_vehicle": 8, "static_obstacle": 9}


# -- the ONNX Runtime wrapper ------------------------------------------------------------------


def yolov8_output(nc: int = 2) -> np.ndarray:
    """3 candidates in a 64 x 64 input: two overlapping class-1 boxes and one class-0 box."""
    out = np.zeros((1, 4 + nc, 3), np.float32)
    out[0, :4, 0] = [32.0, 32.0, 20.0, 10.0]
    out[0, :4, 1] = [33.0, 32.0, 20.0, 10.0]
    out[0, :4, 2] = [10.0, 20.0, 4.0, 4.0]
    out[0, 4 + 1, 0], out[0, 4 + 1, 1], out[0, 4, 2] = 0.9, 0.8, 0.7
    return out


def test_detector_maps_boxes_to_the_original_image_and_applies_nms(tmp_path: Path) -> None:
    det = CameraDetector(config(constant_model(tmp_path / "m.onnx", yolov8_output()),
                                labels_file(tmp_path / "l.labels", ["pedestrian", "car"])))
    assert (det.input_h, det.input_w) == (64, 64) and det.labels == ["pedestrian", "car"]
    dets = det.detect(np.zeros((480, 640, 3), np.uint8))
    # 640 x 480 -> scale 0.1, 64 x 48 with 8 px above: x / 0.1, (y - 8) / 0.1
    np.testing.assert_allclose(dets.boxes, [[220.0, 190.0, 420.0, 290.0], [80.0, 100.0, 120.0, 140.0]], atol=1e-3)
    np.testing.assert_allclose(dets.scores, [0.9, 0.7])
    assert dets.class_ids.tolist() == [1, 0]
    assert det.classifications[dets.class_ids].tolist() == [1, 6]  # car, pedestrian
    assert set(det.last_timing_ms) == {"preprocess", "inference", "postprocess"}


def test_detector_zero_size_image_gives_no_detections_and_bad_arrays_raise(tmp_path: Path) -> None:
    det = CameraDetector(config(constant_model(tmp_path / "m.onnx", yolov8_output()),
                                labels_file(tmp_path / "l.labels", ["pedestrian", "car"])))
    for shape in ((0, 0, 3), (0, 640, 3), (480, 0, 3)):
        dets = det.detect(np.zeros(shape, np.uint8))
        assert len(dets) == 0 and dets.boxes.shape == (0, 4)
    with pytest.raises(ValueError, match="uint8"):
        det.detect(np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        det.detect(np.zeros((48, 64, 3), np.float32))


def test_detector_yolov5_and_yolox_layouts(tmp_path: Path) -> None:
    labels = labels_file(tmp_path / "l.labels", ["pedestrian", "car"])
    v5 = np.array([[[32.0, 32.0, 20.0, 10.0, 0.9, 0.1, 1.0]]], np.float32)
    det = CameraDetector(config(constant_model(tmp_path / "v5.onnx", v5), labels, layout="yolov5"))
    np.testing.assert_allclose(det.detect(np.zeros((64, 64, 3), np.uint8)).boxes, [[22.0, 27.0, 42.0, 37.0]])
    x = np.zeros((1, 84, 7), np.float32)
    x[0, 17] = [0.5, 0.5, math.log(2.0), 0.0, 0.9, 0.2, 1.0]
    det = CameraDetector(config(constant_model(tmp_path / "x.onnx", x), labels, layout="yolox", pixel_scale=1.0,
                                letterbox_centre=False, bgr_input=True))
    np.testing.assert_allclose(det.detect(np.zeros((64, 64, 3), np.uint8)).boxes, [[4.0, 16.0, 20.0, 24.0]],
                               atol=1e-5)


def test_missing_and_malformed_model_files_fail_at_start_up(tmp_path: Path) -> None:
    labels = labels_file(tmp_path / "l.labels", ["pedestrian", "car"])
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelLoadError, match=r"nope\.onnx.*does not exist"):
        CameraDetector(config(missing, labels))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelLoadError, match=r"bad\.onnx.*cannot be loaded"):
        CameraDetector(config(bad, labels))
    with pytest.raises(ModelLoadError, match=r"missing\.labels"):
        CameraDetector(config(constant_model(tmp_path / "m.onnx", yolov8_output()), tmp_path / "missing.labels"))
    assert issubclass(ModelLoadError, ValueError)


def test_shape_mismatch_names_file_expected_and_actual_shapes(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "m.onnx", yolov8_output(2))  # (1, 6, 3): 2 classes
    three = labels_file(tmp_path / "three.labels", ["pedestrian", "car", "cyclist"])
    with pytest.raises(ModelLoadError) as err:
        CameraDetector(config(model, three))
    text = str(err.value)
    assert "m.onnx" in text and "(1, 6, 3)" in text and "(1, 7, A)" in text and "three.labels" in text
    with pytest.raises(ModelLoadError, match=r"layout 'yolov5'.*expects \(1, A, 8\)"):
        CameraDetector(config(model, three, layout="yolov5"))
    yolox = constant_model(tmp_path / "x.onnx", np.zeros((1, 80, 7), np.float32))  # 84 grid points expected
    with pytest.raises(ModelLoadError, match=r"\(1, 80, 7\).*expects \(1, 84, 7\)"):
        CameraDetector(config(yolox, labels_file(tmp_path / "two.labels", ["a", "b"]), layout="yolox"))
    gray = constant_model(tmp_path / "g.onnx", yolov8_output(2), input_shape=(1, 1, 64, 64))
    with pytest.raises(ModelLoadError, match=r"g\.onnx.*expected float \(1, 3, H, W\), got tensor\(float\) "
                                             r"\(1, 1, 64, 64\)"):
        CameraDetector(config(gray, tmp_path / "two.labels"))
