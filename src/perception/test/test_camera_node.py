"""The camera_detector node process over real topics: a held-out simulator frame in -> 2D camera objects
out with the image's header, an annotated debug image; stale frames skipped and counted on
/diagnostics; a zero-size image -> an empty array; a missing model -> exit status 2 naming the file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from lsv_common.testing import MessageRecorder, spin_until, start_node

PARAMS = Path(__file__).resolve().parents[1] / "config" / "camera_detector.param.yaml"
DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "perception" / "camera"
REMAPS = {"~/input/image": "/sensing/camera/image_raw", "~/output/objects": "/perception/camera/objects",
          "~/output/debug_image": "/perception/camera/debug_image"}


def frame_with_most_objects() -> tuple[np.ndarray, int]:
    import cv2

    labels = json.loads((DATA / "labels.json").read_text())
    best = max(labels["frames"], key=lambda f: sum(not i for i in f["ignore"]))
    rgb = cv2.cvtColor(cv2.imread(str(DATA / best["file"])), cv2.COLOR_BGR2RGB)
    return rgb, sum(not i for i in best["ignore"])


@pytest.mark.slow
def test_node_detects_in_a_frame_skips_stale_ones_and_handles_empty_images_and_glare(tmp_path: Path) -> None:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from lsv_common.convert import to_image
    from lsv_msgs.msg import DetectedObject, DetectedObjectArray

    rgb, n_objects = frame_with_most_objects()
    assert n_objects >= 2
    proc = start_node("lsv_perception.camera_node", name="camera_detector", params_file=PARAMS, log_dir=tmp_path,
                      params={"publish_debug_image": True, "max_frame_age_s": 3.0}, remaps=REMAPS)
    rclpy.init()
    node = rclpy.create_node("camera_node_test")
    try:
        objects = MessageRecorder(node, DetectedObjectArray, "/perception/camera/objects")
        debug = MessageRecorder(node, Image, "/perception/camera/debug_image", qos_profile_sensor_data)
        diags = MessageRecorder(node, DiagnosticArray, "/diagnostics")
        pub = node.create_publisher(Image, "/sensing/camera/image_raw", qos_profile_sensor_data)

        def publish(pixels: np.ndarray, age_s: float, frame_id: str) -> None:
            stamp = node.get_clock().now() - rclpy.duration.Duration(seconds=age_s)
            pub.publish(to_image(pixels, "rgb8", frame_id, stamp.to_msg()))

        # 1. a fresh frame, until the node is up and matched (slow to start on a loaded machine)
        for _ in range(300):
            publish(rgb, 0.0, "camera")
            if spin_until(node, lambda: objects.count > 0, 0.2):
                break
        assert objects.count > 0, proc.log()
        msg = objects.messages[0]
        assert msg.header.frame_id == "camera"
        assert len(msg.objects) >= 2
        for o in msg.objects:
            assert o.source == DetectedObject.SOURCE_CAMERA and o.has_box_2d and not o.has_box_3d
            assert 0.0 <= o.x_min < o.x_max <= 640.0 and 0.0 <= o.y_min < o.y_max <= 480.0
            assert 0.3 <= o.score <= 1.0
            assert o.classification in (DetectedObject.CLASS_PEDESTRIAN, DetectedObject.CLASS_CYCLIST,
                                        DetectedObject.CLASS_CAR, DetectedObject.CLASS_TRUCK,
                                        DetectedObject.CLASS_EMERGENCY_VEHICLE, DetectedObject.CLASS_STATIC_OBSTACLE)
        assert spin_until(node, lambda: debug.count > 0, 5.0)
        assert (debug.last.height, debug.last.width, debug.last.encoding) == (480, 640, "rgb8")

        # 2. stale frames: skipped (no output with their stamp), counted on /diagnostics
        n0 = objects.count
        for _ in range(3):
            publish(rgb, 30.0, "stale")
            spin_until(node, lambda: False, 0.1)
        # 3. a zero-size image: an empty array, not a crash
        publish(np.zeros((0, 0, 3), np.uint8), 0.0, "empty")
        assert spin_until(node, lambda: any(m.header.frame_id == "empty" for m in objects.messages), 5.0), proc.log()
        empty = next(m for m in objects.messages if m.header.frame_id == "empty")
        assert len(empty.objects) == 0
        assert not any(m.header.frame_id == "stale" for m in objects.messages[n0:])

        def stale_count() -> int:
            for d in reversed(diags.messages):
                for s in d.status:
                    if s.name.startswith("camera_detector"):
                        return int(next(kv.value for kv in s.values if kv.key == "stale_skipped"))
            return -1

        # >= 3: on a loaded machine a start-up frame may also have waited longer than 3 s in the queue
        assert spin_until(node, lambda: stale_count() >= 3, 5.0), stale_count()

        # 4. the same frame blinded by glare, and one stamped 1 s ahead of the clock: no detections published for
        # either, each said on /diagnostics (WARN: the camera is advisory)
        from lsv_common.node import WARN, level_of
        from lsv_sim.sensor_faults import blind

        def said(text: str, since: int) -> list:
            return [st for d in diags.messages[since:] for st in d.status
                    if st.name.startswith("camera_detector") and text in st.message]

        for pixels, age_s, frame_id, text in ((blind(rgb, 1.0), 0.0, "glare", "camera blinded"),
                                              (rgb, -1.0, "ahead", "stamps ahead of clock by")):
            d0, n0 = diags.count, objects.count
            for _ in range(10):
                publish(pixels, age_s, frame_id)
                spin_until(node, lambda: False, 0.1)
            assert spin_until(node, lambda t=text, d=d0: bool(said(t, d)), 3.0), (text, proc.log()[-2000:])
            assert level_of(said(text, d0)[-1]) == WARN
            assert not any(m.header.frame_id == frame_id for m in objects.messages[n0:])
        assert proc.alive(), proc.log()
    finally:
        node.destroy_node()
        rclpy.shutdown()
        proc.stop()


@pytest.mark.slow
def test_node_with_a_missing_model_exits_with_status_2_naming_the_file(tmp_path: Path) -> None:
    proc = start_node("lsv_perception.camera_node", name="camera_detector", params_file=PARAMS, log_dir=tmp_path,
                      params={"model_path": str(tmp_path / "no_such_model.onnx")})
    deadline = time.monotonic() + 60.0
    while proc.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not proc.alive(), "the node kept running with a missing model"
    assert proc.popen.returncode == 2
    assert "no_such_model.onnx" in proc.log() and "does not exist" in proc.log()
