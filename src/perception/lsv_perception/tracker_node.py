"""``tracker`` node: lidar objects (map frame) + camera 2D detections + V2X objects ->
lsv_msgs/TrackedObjectArray (map frame, 10 Hz: one output per lidar frame) and a MarkerArray.

Thin shell around ``fusion`` and ``tracking`` (pure cores): 1. parameters, 2. subscriptions that
convert each message once (the latest camera frame, CameraInfo and odometry are kept), 3. on each
lidar frame: fuse it with the camera frame nearest in time (when calibration, pose and a camera
frame are fresh), update the tracker at the scan's stamp and publish the confirmed tracks,
4. V2X objects update the tracker as another source when they arrive, 5. ``/diagnostics`` at 1 Hz
with the age of every input. When the lidar objects are missing or stale nothing is published
(and the status is ERROR): the planner and the controller then see perception as stale and stop,
rather than trusting an empty list. An empty lidar frame is a valid answer and gives an empty
(or coasting) track list. A tracker that has just started (a respawn after a crash) publishes
nothing until it has seen ``confirm_hits`` lidar frames: before that nothing could be confirmed, and
an empty list would tell the planner that the objects ahead had gone.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Point
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo
from visualization_msgs.msg import Marker, MarkerArray

from lsv_common.convert import yaw_quaternion_msg
from lsv_common.geometry import box_heading
from lsv_common.latency import OutputDelay, OutputDelayParams
from lsv_common.node import ERROR, OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import spec
from lsv_common.stamps import stamp_to_ns
from lsv_msgs.msg import DetectedObjectArray, TrackedObject, TrackedObjectArray
from lsv_perception.fusion.fuse import FusionParams, as_v2x, fuse_camera
from lsv_perception.fusion.projection import (
    Calibration,
    CalibrationError,
    CameraMountParams,
    calibration_from_msg,
    matrix_of_pose,
)
from lsv_perception.tracking import Measurements, MultiObjectTracker, TrackerParams, Tracks
from lsv_perception.tracking.tracker import yaw_variance

NS = 1_000_000_000
MAP_FRAME = "map"


@dataclass(frozen=True)
class TrackerNodeParams:
    lidar_timeout_s: float = field(default=0.5, metadata=spec(
        "lidar objects older than this: perception stale (ERROR, nothing published)", unit="s", min=0.05,
        max=5.0, optional=True))
    camera_timeout_s: float = field(default=0.5, metadata=spec(
        "camera detections / CameraInfo older than this are not fused (WARN)", unit="s", min=0.05, max=5.0,
        optional=True))
    odometry_timeout_s: float = field(default=0.5, metadata=spec(
        "odometry older than this: no camera fusion (WARN)", unit="s", min=0.05, max=5.0, optional=True))
    v2x_timeout_s: float = field(default=2.0, metadata=spec(
        "V2X objects older than this are reported as stale (V2X is optional: OK level)", unit="s", min=0.1,
        max=30.0, optional=True))
    use_camera: bool = field(default=True, metadata=spec("fuse camera detections into the lidar objects",
                                                         optional=True))
    use_v2x: bool = field(default=True, metadata=spec("use V2X remote objects as a measurement source",
                                                      optional=True))
    publish_tentative: bool = field(default=False, metadata=spec(
        "also publish tracks not yet confirmed (confirmed = false)", optional=True))
    publish_markers: bool = field(default=True, metadata=spec(
        "publish ~/output/markers (only built while someone subscribes)", optional=True))


# ---------------------------------------------------------------------- conversions


def _box_row(o) -> tuple:
    """One object's row; an orientation that is not a rotation (``lsv_common.geometry``) gives a heading-free
    box: yaw 0 and a square footprint of side = the box's diagonal, which covers it at any heading."""
    yaw, length, width, _ = box_heading(o.pose.orientation, o.dimensions.x, o.dimensions.y)
    return (o.pose.position.x, o.pose.position.y, o.pose.position.z, length, width, o.dimensions.z, yaw,
            o.classification, o.score, o.source)


def measurements_from_msg(msg: DetectedObjectArray) -> Measurements:
    """The 3D boxes of a DetectedObjectArray (objects without ``has_box_3d`` are left out)."""
    objs = [o for o in msg.objects if o.has_box_3d]
    n = len(objs)
    if n == 0:
        return Measurements.empty()
    rows = np.array([_box_row(o) for o in objs], dtype=np.float64)
    return Measurements(rows[:, 0:2], rows[:, 2], rows[:, 3:6], rows[:, 6], rows[:, 7].astype(np.int64), rows[:, 8],
                        rows[:, 9].astype(np.int64))


def boxes_2d_from_msg(msg: DetectedObjectArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M, 4) image boxes, (M,) classes, (M,) scores of the objects with ``has_box_2d``."""
    rows = np.array([(o.x_min, o.y_min, o.x_max, o.y_max, o.classification, o.score)
                     for o in msg.objects if o.has_box_2d], dtype=np.float64).reshape(-1, 6)
    ok = np.isfinite(rows).all(axis=1) & (rows[:, 2] > rows[:, 0]) & (rows[:, 3] > rows[:, 1])
    rows = rows[ok]
    return rows[:, :4], rows[:, 4].astype(np.int64), rows[:, 5]


def tracks_to_msg(tracks: Tracks, stamp, min_speed_for_heading: float) -> TrackedObjectArray:
    """Tracks -> TrackedObjectArray in the map frame (pose and twist with covariance)."""
    out = TrackedObjectArray()
    out.header.stamp = stamp
    out.header.frame_id = MAP_FRAME
    yaw_var = yaw_variance(tracks.x, tracks.p, min_speed_for_heading)
    for i in range(len(tracks)):
        x, p = tracks.x[i], tracks.p[i]
        o = TrackedObject(object_id=int(tracks.ids[i]), classification=int(tracks.class_ids[i]),
                          score=float(tracks.scores[i]), source_mask=int(tracks.source_mask[i]) & 0xFF,
                          age=float(tracks.age_s[i]), hits=min(int(tracks.hits[i]), 65535),
                          confirmed=bool(tracks.state[i] != 0))
        o.pose.pose.position = Point(x=float(x[0]), y=float(x[1]), z=float(tracks.z[i]))
        o.pose.pose.orientation = yaw_quaternion_msg(float(tracks.yaw[i]))
        cov = np.zeros((6, 6))
        cov[:2, :2] = p[:2, :2]
        cov[2, 2] = 0.1  # height: smoothed box centre, roughly
        cov[3, 3] = cov[4, 4] = 0.01  # roll, pitch: not estimated (level boxes)
        cov[5, 5] = yaw_var[i]
        o.pose.covariance = cov.ravel().tolist()
        o.velocity.twist.linear.x = float(x[2])
        o.velocity.twist.linear.y = float(x[3])
        o.velocity.twist.angular.z = float(x[4])
        tcov = np.zeros((6, 6))
        tcov[:2, :2] = p[2:4, 2:4]
        tcov[5, 5] = p[4, 4]
        tcov[2, 2] = tcov[3, 3] = tcov[4, 4] = 0.01
        o.velocity.covariance = tcov.ravel().tolist()
        d = tracks.dims[i]
        o.dimensions.x, o.dimensions.y, o.dimensions.z = float(d[0]), float(d[1]), float(d[2])
        out.objects.append(o)
    return out


#: RGBA per class for the viewer (unknown grey, vehicles blue, two-wheelers orange, people red, static yellow)
CLASS_COLORS = {0: (0.6, 0.6, 0.6), 1: (0.2, 0.4, 1.0), 2: (0.1, 0.2, 0.8), 3: (0.1, 0.2, 0.8), 4: (1.0, 0.6, 0.0),
                5: (1.0, 0.6, 0.0), 6: (1.0, 0.1, 0.1), 7: (0.8, 0.3, 0.3), 8: (1.0, 0.0, 1.0), 9: (1.0, 1.0, 0.0)}


def markers_msg(objects: TrackedObjectArray) -> MarkerArray:
    """A box and an id label per track, after a DELETEALL (tracks that ended disappear)."""
    out = MarkerArray()
    clear = Marker(action=Marker.DELETEALL)
    clear.header = objects.header
    out.markers.append(clear)
    for o in objects.objects:
        r, g, b = CLASS_COLORS.get(int(o.classification), CLASS_COLORS[0])
        box = Marker(ns="tracks", id=int(o.object_id) % 2**31, type=Marker.CUBE, action=Marker.ADD)
        box.header = objects.header
        box.pose = o.pose.pose
        box.scale.x, box.scale.y, box.scale.z = (max(o.dimensions.x, 0.05), max(o.dimensions.y, 0.05),
                                                 max(o.dimensions.z, 0.05))
        box.color.r, box.color.g, box.color.b, box.color.a = r, g, b, 0.5 if o.confirmed else 0.2
        text = Marker(ns="track_ids", id=int(o.object_id) % 2**31, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
        text.header = objects.header
        text.pose.position.x = o.pose.pose.position.x
        text.pose.position.y = o.pose.pose.position.y
        text.pose.position.z = o.pose.pose.position.z + 0.5 * o.dimensions.z + 0.5
        text.scale.z = 0.6
        text.color.r = text.color.g = text.color.b = text.color.a = 1.0
        speed = math.hypot(o.velocity.twist.linear.x, o.velocity.twist.linear.y)
        text.text = f"{o.object_id} {speed:.1f} m/s"
        out.markers.extend([box, text])
    return out


# ---------------------------------------------------------------------- node


class TrackerNode(Node):
    def __init__(self) -> None:
        super().__init__("tracker")
        # 1. parameters
        self.params = load_params(self, TrackerNodeParams)
        self.tracker_params = load_params(self, TrackerParams)
        self.fusion_params = load_params(self, FusionParams)
        self.t_base_camera = load_params(self, CameraMountParams).t_base_camera()
        self.delay = OutputDelay(self, load_params(self, OutputDelayParams))  # synchronous simulation only
        self.tracker = MultiObjectTracker(self.tracker_params)
        # latest inputs: (receive time ns of the ROS clock, value)
        self._last: dict[str, int] = {}
        self._calib: Calibration | None = None
        self._camera: tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None  # (stamp ns, boxes)
        self._t_map_base: np.ndarray | None = None
        self._counts = {"lidar_frames": 0, "camera_frames": 0, "v2x_frames": 0, "fused": 0, "published": 0,
                        "dropped_frame": 0, "dropped_invalid": 0, "dropped_late": 0, "camera_errors": 0}
        self._update_ms = 0.0
        # 2. inputs and outputs
        self.create_subscription(DetectedObjectArray, "~/input/lidar_objects", self.delay.timed(self._on_lidar), 5)
        self.create_subscription(DetectedObjectArray, "~/input/camera_objects", self._on_camera, 5)
        self.create_subscription(CameraInfo, "~/input/camera_info", self._on_camera_info, 2)
        self.create_subscription(DetectedObjectArray, "~/input/v2x_objects", self._on_v2x, 5)
        self.create_subscription(Odometry, "~/input/odometry", self._on_odometry, 10)
        self.objects_pub = self.create_publisher(TrackedObjectArray, "~/output/objects", 10)
        self.markers_pub = self.create_publisher(MarkerArray, "~/output/markers", 2)
        # 5. diagnostics
        self.diagnostics = Diagnostics(self, self._collect_diagnostics)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _age_s(self, key: str, now_ns: int) -> float:
        return (now_ns - self._last[key]) / NS if key in self._last else math.inf

    def _warn(self, what: str) -> None:
        self.get_logger().warning(what, throttle_duration_sec=5.0)

    # -- inputs
    def _on_odometry(self, msg: Odometry) -> None:
        try:
            t = matrix_of_pose(msg.pose.pose)
        except CalibrationError as err:
            self._warn(f"odometry ignored: {err}")
            return
        self._t_map_base = t
        self._last["odometry"] = self._now_ns()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self._calib = calibration_from_msg(msg, self.t_base_camera)
        except CalibrationError as err:
            self._calib = None
            self._warn(f"CameraInfo unusable, camera fusion off: {err}")
            return
        self._last["camera_info"] = self._now_ns()

    def _on_camera(self, msg: DetectedObjectArray) -> None:
        self._camera = (stamp_to_ns(msg.header.stamp), boxes_2d_from_msg(msg))
        self._counts["camera_frames"] += 1
        self._last["camera"] = self._now_ns()

    def _on_v2x(self, msg: DetectedObjectArray) -> None:
        self._last["v2x"] = self._now_ns()
        self._counts["v2x_frames"] += 1
        if not self.params.use_v2x or "lidar" not in self._last:
            return  # V2X only joins tracks once the tracker runs on the lidar
        if msg.objects and msg.header.frame_id != MAP_FRAME:
            self._counts["dropped_frame"] += 1
            self._warn(f"V2X objects in frame '{msg.header.frame_id}', expected '{MAP_FRAME}': ignored")
            return
        stats = self.tracker.update(stamp_to_ns(msg.header.stamp), as_v2x(measurements_from_msg(msg)))
        self._count(stats)

    def _count(self, stats) -> None:
        self._counts["dropped_invalid"] += stats.dropped_invalid
        self._counts["dropped_late"] += stats.dropped_late

    # -- 3. the lidar frame drives the cycle
    def _on_lidar(self, msg: DetectedObjectArray) -> None:
        t0 = time.perf_counter()
        now = self._now_ns()
        if msg.objects and msg.header.frame_id != MAP_FRAME:
            self._counts["dropped_frame"] += 1
            self._warn(f"lidar objects in frame '{msg.header.frame_id}', expected '{MAP_FRAME}' "
                       "(remap ~/input/lidar_objects to the map-frame output of lidar_detector): ignored")
            return
        self._last["lidar"] = now
        self._counts["lidar_frames"] += 1
        t_ns = stamp_to_ns(msg.header.stamp)
        meas = measurements_from_msg(msg)
        cam = self._camera_for(t_ns, now)
        if cam is not None and len(meas):
            boxes, classes, scores = cam
            try:
                res = fuse_camera(meas, boxes, classes, scores, self._calib, self._t_map_base, self.fusion_params)
                meas = res.measurements
                self._counts["fused"] += len(res.lidar_idx)
            except (ValueError, np.linalg.LinAlgError) as err:  # a singular pose: fuse nothing this frame
                self._counts["camera_errors"] += 1
                self._warn(f"camera fusion skipped: {err}")
        stats = self.tracker.update(t_ns, meas)
        self._count(stats)
        if self._warming_up():
            return  # nothing confirmed yet: silence (perception stale downstream), not an empty list
        self._publish(msg.header.stamp)
        self._update_ms = 1e3 * (time.perf_counter() - t0)

    def _warming_up(self) -> bool:
        """Fewer lidar frames since the start than a track needs to be confirmed."""
        return self._counts["lidar_frames"] < self.tracker_params.confirm_hits

    def _camera_for(self, t_ns: int, now: int):
        p = self.params
        if not p.use_camera or self._camera is None or self._calib is None or self._t_map_base is None:
            return None
        if (self._age_s("camera", now) > p.camera_timeout_s or self._age_s("camera_info", now) > p.camera_timeout_s
                or self._age_s("odometry", now) > p.odometry_timeout_s):
            return None
        cam_ns, cam = self._camera
        if abs(cam_ns - t_ns) / NS > self.fusion_params.max_camera_lag_s:
            return None
        return cam

    def _publish(self, stamp) -> None:
        tracks = self.tracker.tracks(include_tentative=self.params.publish_tentative)
        msg = tracks_to_msg(tracks, stamp, self.tracker_params.min_speed_for_heading_mps)
        self.delay.publish(self.objects_pub, msg)
        self._counts["published"] += 1
        if self.params.publish_markers and self.markers_pub.get_subscription_count() > 0:
            self.markers_pub.publish(markers_msg(msg))

    # -- 5. diagnostics
    def _collect_diagnostics(self) -> list[DiagnosticStatus]:
        now = self._now_ns()
        p = self.params
        ages = {k: self._age_s(k, now) for k in ("lidar", "camera", "camera_info", "odometry", "v2x")}
        problems, level = [], OK
        if ages["lidar"] > p.lidar_timeout_s:
            level = ERROR
            problems.append("lidar objects missing" if math.isinf(ages["lidar"]) else "lidar objects stale")
        elif self._warming_up():
            level = WARN
            problems.append(f"starting: no output before {self.tracker_params.confirm_hits} lidar frames "
                            f"({self._counts['lidar_frames']} so far)")
        if p.use_camera:
            for key, limit in (("camera", p.camera_timeout_s), ("camera_info", p.camera_timeout_s),
                               ("odometry", p.odometry_timeout_s)):
                if ages[key] > limit:
                    level = max(level, WARN)
                    problems.append(f"{key} {'missing' if math.isinf(ages[key]) else 'stale'}: no camera fusion")
        if p.use_v2x and "v2x" in self._last and ages["v2x"] > p.v2x_timeout_s:
            problems.append("V2X objects stale")
        values: dict = {f"{k}_age_s": (round(v, 3) if math.isfinite(v) else "never") for k, v in ages.items()}
        values.update(self._counts)
        values["tracks"] = len(self.tracker)
        values["update_ms"] = self._update_ms
        return [status("tracker", level, "; ".join(problems) or "tracking", values)]


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: TrackerNode(), args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
