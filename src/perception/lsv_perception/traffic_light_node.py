"""``traffic_light_classifier`` node: camera image + map + pose -> lsv_msgs/TrafficSignalArray.

Thin shell around ``lsv_perception.traffic_light``: 1. parameters (``TrafficLightNodeParams``,
``LightClassifierParams``, the camera mount ``camera.*``) and the map's heads, loaded at start-up
(a missing map or one without lamp positions stops the node with exit status 2); 2. keeps the
latest CameraInfo and odometry (its height replaced by the map's road height where the
localizer does not estimate it: z variance above 1 m^2); 3. each image (skipped when older than
``max_frame_age_s``, when its stamp repeats the previous one, or while CameraInfo or odometry is
missing or stale): looks at every head facing the camera, publishes the states it saw (``SOURCE_PERCEPTION``, no timing,
the image's stamp, frame ``map``; an empty array: no head seen); 4. /diagnostics at 1 Hz.

Faults it reports (issue #15): an image stamped more than ``max_stamp_ahead_s`` after the node's clock
is skipped and counted ("stamps ahead of clock by 0.5 s", WARN); a blinded image (sun glare,
overexposure: ``blinded.min_share`` of its pixels saturated) is not looked at: an empty array is
published for it at once (no light state: every signalised line ahead is unknown to the planner, which
stops at it unless an authenticated V2X state says otherwise) and the status is "camera blinded" (WARN).
Docs: ``src/perception/doc/traffic_light_classifier.md``.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from lsv_common.convert import ConversionError, rgb_from_image
from lsv_common.latency import OutputDelay, OutputDelayParams
from lsv_common.node import OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import ParameterError, spec
from lsv_common.stamps import RepeatedStamps, stamp_to_ns
from lsv_msgs.msg import TrafficSignal, TrafficSignalArray
from lsv_perception.camera.exposure import BlindnessParams, is_blinded
from lsv_perception.fusion.projection import (
    Calibration,
    CalibrationError,
    CameraMountParams,
    calibration_from_msg,
    matrix_of_pose,
)
from lsv_perception.stamp_check import StampCheck, StampLimits
from lsv_perception.traffic_light import LightClassifierParams, LightMapError, classify, load_light_map

NS = 1_000_000_000
NO_FRAME_WARN_S = 2.0  # s without any image -> diagnostics WARN
MAX_HEIGHT_VARIANCE = 1.0  # m^2: an odometry z less certain than this is replaced by the map's road height


@dataclass(frozen=True)
class TrafficLightNodeParams:
    map_path: str = field(default="package://lsv_sim/maps/district.osm", metadata=spec(
        "Lanelet2 map (OSM) with the traffic-light heads and their lamps (light_bulbs); package:// URLs resolve "
        "to the package's share (or source) folder", optional=True))
    map_origin_lat_deg: float = field(default=30.2741, metadata=spec(
        "the map's LocalCartesian origin (the planner's)", unit="deg", min=-90.0, max=90.0, optional=True))
    map_origin_lon_deg: float = field(default=120.1551, metadata=spec(
        "the map's LocalCartesian origin (the planner's)", unit="deg", min=-180.0, max=180.0, optional=True))
    map_origin_alt_m: float = field(default=0.0, metadata=spec("the map's LocalCartesian origin altitude",
                                                               unit="m", min=-1000.0, max=9000.0, optional=True))
    max_frame_age_s: float = field(default=0.5, metadata=spec(
        "an image whose stamp is older than this on the node's clock is skipped (0 = never)", unit="s", min=0.0,
        max=60.0, optional=True))
    max_stamp_ahead_s: float = field(default=0.2, metadata=spec(
        "an image stamped further ahead of the node's clock is skipped and counted (the camera's clock is off; "
        "0 = no check)", unit="s", min=0.0, max=10.0, optional=True))
    odometry_timeout_s: float = field(default=0.3, metadata=spec(
        "odometry older than this: nothing is classified (the pose places the heads in the image)", unit="s",
        min=0.02, max=5.0, optional=True))
    camera_info_timeout_s: float = field(default=2.0, metadata=spec(
        "CameraInfo older than this: nothing is classified", unit="s", min=0.1, max=60.0, optional=True))


def signals_msg(observations, header) -> TrafficSignalArray:
    """The heads seen -> TrafficSignalArray (map frame, the image's stamp, perception, no timing)."""
    out = TrafficSignalArray()
    out.header.stamp = header.stamp
    out.header.frame_id = "map"
    for o in observations:
        if not o.colour:
            continue
        h = o.head
        out.signals.append(TrafficSignal(region_id=0, intersection_id=h.intersection_id, phase_id=h.phase_id,
                                         lanelet_id=h.lanelet_ids[0] if h.lanelet_ids else 0, state=o.state,
                                         confidence=float(o.confidence), source=TrafficSignal.SOURCE_PERCEPTION))
    return out


class TrafficLightNode(Node):
    def __init__(self) -> None:
        super().__init__("traffic_light_classifier")
        # 1. parameters and the map's heads (fails here, not at the first frame)
        self.params = p = load_params(self, TrafficLightNodeParams)
        self.classifier_params = load_params(self, LightClassifierParams)
        self.blindness = load_params(self, BlindnessParams)
        self.delay = OutputDelay(self, load_params(self, OutputDelayParams))  # synchronous simulation only
        self.stamp_check = StampCheck(StampLimits(p.max_stamp_ahead_s, p.max_frame_age_s))
        self.last_saturated_share = 0.0
        self._blinded_before = 0  # blinded frames at the previous diagnostics report
        self.t_base_camera = load_params(self, CameraMountParams).t_base_camera()
        try:
            self.light_map = load_light_map(p.map_path, p.map_origin_lat_deg, p.map_origin_lon_deg,
                                            p.map_origin_alt_m)
        except LightMapError as err:
            raise ParameterError(f"map_path: {err}") from err
        self.heads = self.light_map.heads
        self.get_logger().info(f"{len(self.heads)} traffic-light heads from {p.map_path}")
        # 2. inputs and outputs
        self._calib: Calibration | None = None
        self._t_map_base: np.ndarray | None = None
        self._last: dict[str, int] = {}  # input -> receive time on the ROS clock, ns
        self.stamps = RepeatedStamps()
        self.counts = collections.Counter()
        self.seen = collections.Counter()  # colour -> heads reported
        self.last_frame_mono: float | None = None
        self.last_skip = ""
        self._classified_before = 0  # at the previous diagnostics report
        self.frame_ms: collections.deque[float] = collections.deque(maxlen=100)
        self.pub = self.create_publisher(TrafficSignalArray, "~/output/traffic_signals", 10)
        self.create_subscription(Image, "~/input/image", self.delay.timed(self._on_image), qos_profile_sensor_data)
        self.create_subscription(CameraInfo, "~/input/camera_info", self._on_camera_info, 2)
        self.create_subscription(Odometry, "~/input/odometry", self._on_odometry, 10)
        # 4. health
        self.diagnostics = Diagnostics(self, self._collect_diagnostics)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _age_s(self, key: str, now_ns: int) -> float:
        return (now_ns - self._last[key]) / NS if key in self._last else math.inf

    def _skip(self, why: str) -> None:
        self.counts["skipped"] += 1
        self.last_skip = why
        self.get_logger().warning(f"camera frame not classified: {why}", throttle_duration_sec=2.0)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self._calib = calibration_from_msg(msg, self.t_base_camera)
        except CalibrationError as err:
            self._calib = None
            self.get_logger().warning(f"CameraInfo unusable: {err}", throttle_duration_sec=5.0)
            return
        self._last["camera_info"] = self._now_ns()

    def _on_odometry(self, msg: Odometry) -> None:
        try:
            t = matrix_of_pose(msg.pose.pose)
        except CalibrationError as err:
            self.get_logger().warning(f"odometry ignored: {err}", throttle_duration_sec=5.0)
            return
        if not msg.pose.covariance[14] <= MAX_HEIGHT_VARIANCE:  # z not estimated (a 2D localizer): the road's
            t[2, 3] = self.light_map.road_height(t[0, 3], t[1, 3])
            self.counts["height_from_map"] += 1
        self._t_map_base = t
        self._last["odometry"] = self._now_ns()

    # 3. each image
    def _on_image(self, msg: Image) -> None:
        t0 = time.perf_counter()
        self.counts["frames"] += 1
        now = self._now_ns()
        p = self.params
        if not self.stamps.is_new("image", stamp_to_ns(msg.header.stamp)):
            return self._skip("the same stamp as the previous frame (a frozen camera driver?)")
        self.last_frame_mono = time.monotonic()
        if not self.stamp_check.check(stamp_to_ns(msg.header.stamp), now):
            return self._skip(self.stamp_check.describe())
        try:
            rgb = rgb_from_image(msg)
        except ConversionError as err:
            self.counts["rejected"] += 1
            return self._skip(str(err))
        blinded, self.last_saturated_share = is_blinded(rgb, self.blindness)
        if blinded:  # glare: no lamp can be read; say so at once (an empty array: every light unknown)
            self.counts["blinded"] += 1
            self.delay.publish(self.pub, signals_msg([], msg.header))
            self.get_logger().warning(f"camera blinded: {self.last_saturated_share:.0%} of the image saturated, "
                                      "no light state reported", throttle_duration_sec=2.0)
            return None
        if self._calib is None or self._age_s("camera_info", now) > p.camera_info_timeout_s:
            return self._skip("no fresh CameraInfo")
        if self._t_map_base is None or self._age_s("odometry", now) > p.odometry_timeout_s:
            return self._skip("no fresh odometry (the pose places the heads in the image)")
        try:
            observations = classify(rgb, self.heads, self._calib, self._t_map_base, self.classifier_params)
        except ValueError as err:
            self.counts["rejected"] += 1
            return self._skip(str(err))
        out = signals_msg(observations, msg.header)
        self.delay.publish(self.pub, out)
        self.counts["classified"] += 1
        self.counts["heads_looked_at"] += len(observations)
        for o in observations:
            self.seen[o.colour or "not_seen"] += 1
        self.frame_ms.append((time.perf_counter() - t0) * 1e3)

    def _collect_diagnostics(self) -> list[DiagnosticStatus]:
        values = {**self.counts, **{f"seen_{k}": v for k, v in self.seen.items()}, "heads": len(self.heads),
                  "saturated_share": self.last_saturated_share, **self.stamp_check.values()}
        blinded_now = self.counts["blinded"] - self._blinded_before
        self._blinded_before = self.counts["blinded"]
        if self.frame_ms:
            values["frame_ms_p95"] = float(np.percentile(np.asarray(self.frame_ms), 95))
        classified_now = self.counts["classified"] - self._classified_before
        self._classified_before = self.counts["classified"]
        if self.last_frame_mono is None or time.monotonic() - self.last_frame_mono > NO_FRAME_WARN_S:
            level, message = WARN, "no new camera frames"
        elif blinded_now:
            level, message = WARN, "camera blinded (image saturated): no light state reported"
        elif classified_now == 0:
            level, message = WARN, f"no frame classified since the last report: {self.last_skip}"
        else:
            level, message = OK, "classifying"
        return [status("traffic_lights", level, message, values)]


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: TrafficLightNode(), args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
