"""``camera_detector`` node: sensor_msgs/Image -> lsv_msgs/DetectedObjectArray (2D boxes, source camera).

Thin shell around ``lsv_perception.camera.detector.CameraDetector``: 1. parameters (the detector's
``DetectorConfig`` + ``CameraNodeParams``), model loaded and checked at start-up (a bad model or
labels file stops the node with exit status 2 and a message naming the file and the shapes),
2. each image: skip it (and count it) when it is older than ``max_frame_age_s`` on the ROS clock,
convert it to a numpy view, detect, publish the objects with the image's header, optionally an
annotated debug image, 3. /diagnostics at 1 Hz: frames, skipped stale frames, inference time.

Faults it reports (issue #15): an image stamped more than ``max_stamp_ahead_s`` after the node's clock
is dropped and counted ("stamps ahead of clock by 0.5 s", WARN); a blinded image (sun glare,
overexposure: ``blinded.min_share`` of its pixels saturated, ``lsv_perception.camera.exposure``) gives
no detections at all - nothing is published for it, so the tracker's camera input goes stale and it
tracks from the lidar alone - and "camera blinded" (WARN: the camera is advisory to the controller).
Docs: ``src/perception/doc/camera_detector.md``.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from lsv_common.convert import ConversionError, rgb_from_image, to_image
from lsv_common.latency import OutputDelay, OutputDelayParams
from lsv_common.node import ERROR, OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import spec
from lsv_common.stamps import RepeatedStamps, stamp_to_ns
from lsv_msgs.msg import DetectedObject, DetectedObjectArray
from lsv_perception.camera.detector import CameraDetector, Detections, DetectorConfig
from lsv_perception.camera.exposure import BlindnessParams, is_blinded
from lsv_perception.stamp_check import Stamp, StampCheck, StampLimits

NO_FRAME_WARN_S = 2.0  # s without any image -> diagnostics WARN


@dataclass(frozen=True)
class CameraNodeParams:
    max_frame_age_s: float = field(default=0.5, metadata=spec(
        "an image whose header stamp is older than this on the node's clock is skipped and counted "
        "(0 = never skip)", unit="s", min=0.0, max=60.0, optional=True))
    max_stamp_ahead_s: float = field(default=0.2, metadata=spec(
        "an image stamped further ahead of the node's clock is dropped and counted (the camera's clock is off; "
        "0 = no check)", unit="s", min=0.0, max=10.0, optional=True))
    publish_debug_image: bool = field(default=False, metadata=spec(
        "publish ~/output/debug_image (the input with the boxes drawn; costs a copy and drawing)", optional=True))


def objects_msg(dets: Detections, classifications: np.ndarray, header) -> DetectedObjectArray:
    """Detections -> DetectedObjectArray with ``header`` (the image's), source camera, 2D boxes."""
    out = DetectedObjectArray(header=header)
    classes = classifications[dets.class_ids].tolist()
    boxes = dets.boxes.tolist()
    scores = dets.scores.tolist()
    out.objects = [DetectedObject(classification=c, score=s, source=DetectedObject.SOURCE_CAMERA, has_box_3d=False,
                                  has_box_2d=True, x_min=b[0], y_min=b[1], x_max=b[2], y_max=b[3])
                   for c, s, b in zip(classes, scores, boxes, strict=True)]
    return out


def draw_detections(rgb: np.ndarray, dets: Detections, labels: list[str]) -> np.ndarray:
    """A copy of ``rgb`` with the boxes, class names and scores drawn (debug output only)."""
    import cv2

    img = np.ascontiguousarray(rgb).copy()
    colours = ((255, 64, 64), (64, 255, 64), (64, 128, 255), (255, 200, 0), (255, 0, 255), (0, 255, 255))
    for (x0, y0, x1, y1), s, c in zip(dets.boxes.astype(int).tolist(), dets.scores.tolist(), dets.class_ids.tolist(),
                                      strict=True):
        colour = colours[c % len(colours)]
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, 2)
        cv2.putText(img, f"{labels[c]} {s:.2f}", (x0, max(y0 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
    return img


class CameraDetectorNode(Node):
    def __init__(self) -> None:
        super().__init__("camera_detector")
        # 1. parameters and the model (fails here, not at the first frame)
        self.params = load_params(self, CameraNodeParams)
        self.detector = CameraDetector(load_params(self, DetectorConfig))
        self.get_logger().info(
            f"model {self.detector.model_path} ({self.detector.config.layout}, input {self.detector.input_w}x"
            f"{self.detector.input_h}, {len(self.detector.labels)} classes) on {self.detector.providers}")
        self.blindness = load_params(self, BlindnessParams)
        self.delay = OutputDelay(self, load_params(self, OutputDelayParams))  # synchronous simulation only
        self.stamp_check = StampCheck(StampLimits(self.params.max_stamp_ahead_s, self.params.max_frame_age_s))
        self.frames = self.processed = self.rejected = self.blinded = 0
        self.last_saturated_share = 0.0
        self._period = {"processed": 0, "blinded": 0, "ahead": 0}  # counts at the previous diagnostics report
        self.stamps = RepeatedStamps()  # a frozen driver re-sending its last frame is dropped, not processed
        self.last_frame_mono: float | None = None
        self.last_error = ""
        self.infer_ms: collections.deque[float] = collections.deque(maxlen=100)
        self.total_ms: collections.deque[float] = collections.deque(maxlen=100)
        # 2. inputs and outputs
        self.objects_pub = self.create_publisher(DetectedObjectArray, "~/output/objects", 10)
        self.debug_pub = (self.create_publisher(Image, "~/output/debug_image", qos_profile_sensor_data)
                          if self.params.publish_debug_image else None)
        self.create_subscription(Image, "~/input/image", self.delay.timed(self._on_image), qos_profile_sensor_data)
        # 3. health
        self.diagnostics = Diagnostics(self, self._collect_diagnostics)

    def _on_image(self, msg: Image) -> None:
        t0 = time.perf_counter()
        self.frames += 1
        stamp_ns = stamp_to_ns(msg.header.stamp)
        if not self.stamps.is_new("image", stamp_ns):
            self.get_logger().warning(f"camera frame repeated with the same stamp ({self.stamps.in_a_row['image']} in "
                                      "a row): a frozen camera driver? dropped", throttle_duration_sec=1.0)
            return
        self.last_frame_mono = time.monotonic()
        if not self.stamp_check.check(stamp_ns, self.get_clock().now().nanoseconds):
            self.get_logger().warning(f"camera frame skipped: {self.stamp_check.describe()} "
                                      f"({self.stamp_check.dropped} so far)", throttle_duration_sec=1.0)
            return
        try:
            pixels = rgb_from_image(msg)
        except ConversionError as err:
            self.rejected += 1
            self.last_error = str(err)
            self.get_logger().error(f"camera frame rejected: {err}", throttle_duration_sec=1.0)
            return
        blinded, self.last_saturated_share = is_blinded(pixels, self.blindness)
        if blinded:  # glare: whatever a detector finds in it is not there; say nothing rather than nothing seen
            self.blinded += 1
            self.get_logger().warning(f"camera blinded: {self.last_saturated_share:.0%} of the image saturated, "
                                      "no detections", throttle_duration_sec=1.0)
            return
        dets = self.detector.detect(pixels)
        self.delay.publish(self.objects_pub, objects_msg(dets, self.detector.classifications, msg.header))
        self.processed += 1
        self.infer_ms.append(self.detector.last_timing_ms["inference"])
        if self.debug_pub is not None and pixels.size:
            self.debug_pub.publish(to_image(draw_detections(pixels, dets, self.detector.labels), "rgb8",
                                            msg.header.frame_id, msg.header.stamp))
        self.total_ms.append((time.perf_counter() - t0) * 1e3)

    def _collect_diagnostics(self) -> list[DiagnosticStatus]:
        stale = self.stamp_check.counts[Stamp.BEHIND]
        values = {"frames": self.frames, "processed": self.processed, "stale_skipped": stale,
                  "repeated_skipped": self.stamps.repeated.get("image", 0),
                  "dropped_stamp_ahead": self.stamp_check.counts[Stamp.AHEAD], "blinded": self.blinded,
                  "saturated_share": self.last_saturated_share,
                  "rejected": self.rejected, "providers": ",".join(self.detector.providers)}
        now = {"processed": self.processed, "blinded": self.blinded, "ahead": self.stamp_check.counts[Stamp.AHEAD]}
        period = {k: v - self._period[k] for k, v in now.items()}
        self._period = now
        if self.infer_ms:
            ms = np.asarray(self.infer_ms)
            total = np.asarray(self.total_ms) if self.total_ms else ms
            values.update(inference_ms_mean=float(ms.mean()), inference_ms_max=float(ms.max()),
                          frame_ms_p95=float(np.percentile(total, 95)))
        if self.last_frame_mono is None or time.monotonic() - self.last_frame_mono > NO_FRAME_WARN_S:
            frozen = self.stamps.in_a_row.get("image", 0)
            level, message = WARN, (f"no new camera frames (the last one repeated {frozen} times: camera frozen)"
                                    if frozen else "no camera frames")
        elif period["blinded"]:
            level, message = WARN, "camera blinded (image saturated): no detections"
        elif period["ahead"]:
            level, message = WARN, f"{self.stamp_check.describe()}: frames dropped"
        elif self.rejected and self.processed == 0:
            level, message = ERROR, f"every camera frame rejected: {self.last_error}"
        elif stale and self.processed == 0:
            level, message = WARN, "every camera frame is stale (clock or latency problem)"
        else:
            level, message = OK, "detecting"
        return [status("camera", level, message, values)]


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: CameraDetectorNode(), args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
