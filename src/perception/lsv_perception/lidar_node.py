"""``lidar_detector`` node: sensor_msgs/PointCloud2 -> lsv_msgs/DetectedObjectArray (3D boxes, source lidar),
in the lidar frame and in the map frame.

Thin shell around ``lsv_perception.lidar.pipeline.LidarPipeline``: 1. parameters (``LidarConfig``, the
base_link -> lidar extrinsic, ``LidarNodeParams``); the classifier model is loaded and checked at
start-up (a bad model or labels file stops the node with exit status 2 and a message naming the file
and the shapes), 2. odometry (base_link in map) is buffered by stamp, 3. each cloud: a numpy view of
the message, the pipeline, ``~/output/objects`` with the cloud's header, and ``~/output/objects_map``
with the boxes moved to ``map`` by the odometry closest to the cloud's stamp (skipped, and said on
diagnostics, when there is none within ``odometry_max_offset_s``), 4. /diagnostics at 1 Hz: processing
time, points in/kept, objects, odometry state. Docs: ``src/perception/doc/lidar_detector.md``.

Faults it reports (issue #15): a cloud stamped more than ``max_stamp_ahead_s`` after the node's clock or
older than ``max_cloud_age_s`` is dropped and counted ("stamps ahead of clock by 0.5 s": ERROR while no
cloud gets through, the tracker's input then goes stale); an azimuth sector without returns for a few
scans (``lidar.occlusion``) is "lidar occluded: sector A..B deg", ERROR when it is ahead (the objects in
the path cannot be trusted: the controller's minimal-risk manoeuvre stops the vehicle), WARN otherwise;
reported at once when it starts, not only at the next 1 Hz report.
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
from sensor_msgs.msg import PointCloud2

from lsv_common.convert import ConversionError, from_pointcloud2
from lsv_common.latency import OutputDelay, OutputDelayParams
from lsv_common.node import ERROR, OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import spec
from lsv_common.stamps import RepeatedStamps, stamp_to_ns
from lsv_msgs.msg import DetectedObject, DetectedObjectArray
from lsv_perception.lidar.occlusion import OcclusionMonitor, OcclusionParams
from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline, LidarResult
from lsv_perception.lidar.transform import LidarExtrinsics, PoseBuffer, boxes_to_frame, matrix_from_pose
from lsv_perception.stamp_check import StampCheck, StampLimits


@dataclass(frozen=True)
class LidarNodeParams:
    odometry_max_offset_s: float = field(default=0.1, metadata=spec(
        "the odometry used for the map-frame objects must be this close to the cloud's stamp", unit="s",
        min=0.0, max=5.0, optional=True))
    cloud_timeout_s: float = field(default=1.0, metadata=spec(
        "no cloud for this long -> diagnostics ERROR", unit="s", min=0.1, max=60.0, optional=True))
    map_frame: str = field(default="map", metadata=spec("frame of ~/output/objects_map", optional=True))
    max_stamp_ahead_s: float = field(default=0.2, metadata=spec(
        "a cloud stamped further ahead of the node's clock is dropped and counted (the sensor's clock is off; "
        "0 = no check)", unit="s", min=0.0, max=10.0, optional=True))
    max_cloud_age_s: float = field(default=1.0, metadata=spec(
        "a cloud older than this on the node's clock is dropped and counted (as good as none: cloud_timeout_s; "
        "0 = no check)", unit="s", min=0.0, max=10.0, optional=True))


def objects_msg(result: LidarResult, centers: np.ndarray, yaws: np.ndarray, header) -> DetectedObjectArray:
    """Boxes -> DetectedObjectArray with ``header``, source lidar, 3D boxes (the loop only fills messages)."""
    out = DetectedObjectArray(header=header)
    half = yaws * 0.5
    qz, qw = np.sin(half).tolist(), np.cos(half).tolist()
    for c, d, z, w, cls, score in zip(centers.tolist(), result.dimensions.tolist(), qz, qw,
                                      result.class_ids.tolist(), result.scores.tolist(), strict=True):
        o = DetectedObject(classification=cls, score=score, source=DetectedObject.SOURCE_LIDAR, has_box_3d=True,
                           has_box_2d=False)
        o.pose.position.x, o.pose.position.y, o.pose.position.z = c
        o.pose.orientation.z, o.pose.orientation.w = z, w
        o.dimensions.x, o.dimensions.y, o.dimensions.z = d
        out.objects.append(o)
    return out


class LidarDetectorNode(Node):
    def __init__(self) -> None:
        super().__init__("lidar_detector")
        # 1. parameters and the model (fails here, not at the first cloud)
        self.params = load_params(self, LidarNodeParams)
        self.config = load_params(self, LidarConfig)
        self.t_base_lidar = load_params(self, LidarExtrinsics).matrix()
        self.pipeline = LidarPipeline(self.config)
        self.occlusion = OcclusionMonitor(load_params(self, OcclusionParams))
        self.delay = OutputDelay(self, load_params(self, OutputDelayParams))  # synchronous simulation only
        self.stamp_check = StampCheck(StampLimits(self.params.max_stamp_ahead_s, self.params.max_cloud_age_s))
        self._processed_before = 0  # clouds processed at the previous diagnostics report
        self._dropped_before = 0  # clouds dropped for their stamp at the previous report
        model = self.pipeline.model
        self.get_logger().info(f"classifier: {model.path} ({model.names})" if model else
                               "classifier: geometric rules (classifier.type: geometric): no model")
        self.poses = PoseBuffer()
        self.clouds = self.bad_clouds = self.map_published = self.no_odometry = self.processed = 0
        self.stamps = RepeatedStamps()  # a frozen driver re-sending its last cloud is dropped, not processed
        self.last_cloud_mono: float | None = None
        self.last_result: LidarResult | None = None
        self.last_error = ""
        self.last_odometry_offset_s: float | None = None
        self.total_ms: collections.deque[float] = collections.deque(maxlen=100)
        # 2. inputs and outputs
        self.objects_pub = self.create_publisher(DetectedObjectArray, "~/output/objects", 10)
        self.map_pub = self.create_publisher(DetectedObjectArray, "~/output/objects_map", 10)
        self.create_subscription(Odometry, "~/input/odometry", self._on_odometry, 50)
        self.create_subscription(PointCloud2, "~/input/pointcloud", self.delay.timed(self._on_cloud),
                                 qos_profile_sensor_data)
        self.diagnostics = Diagnostics(self, self._collect_diagnostics)

    def _on_odometry(self, msg: Odometry) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        values = (p.x, p.y, p.z, q.x, q.y, q.z, q.w)
        if not all(math.isfinite(v) for v in values) or (q.x, q.y, q.z, q.w) == (0.0, 0.0, 0.0, 0.0):
            return  # an invalid pose is never used
        self.poses.add(stamp_to_ns(msg.header.stamp), matrix_from_pose((p.x, p.y, p.z), (q.x, q.y, q.z, q.w)))

    def _on_cloud(self, msg: PointCloud2) -> None:
        t0 = time.perf_counter()
        self.clouds += 1
        stamp = stamp_to_ns(msg.header.stamp)
        if not self.stamps.is_new("cloud", stamp):
            # the same cloud again: no news of the world, so nothing is published and the tracker's lidar input
            # goes stale (a frozen world must not look alive)
            self.get_logger().warning(f"point cloud repeated with the same stamp ({self.stamps.in_a_row['cloud']} in "
                                      "a row): a frozen lidar driver? dropped", throttle_duration_sec=1.0)
            return
        self.last_cloud_mono = time.monotonic()
        if not self.stamp_check.check(stamp, self.get_clock().now().nanoseconds):
            # a cloud that cannot be placed in time is no cloud: the tracker's lidar input goes stale
            self.get_logger().warning(f"cloud dropped: {self.stamp_check.describe()} "
                                      f"({self.stamp_check.dropped} so far)", throttle_duration_sec=1.0)
            return
        # 3. convert and validate
        try:
            points = from_pointcloud2(msg)
            if points.dtype.names is None or not {"x", "y", "z"} <= set(points.dtype.names):
                raise ConversionError(f"PointCloud2 needs fields x, y, z; got {points.dtype.names}")
        except ConversionError as err:
            self.bad_clouds += 1
            self.last_error = str(err)
            self.get_logger().error(f"cloud rejected: {err}", throttle_duration_sec=1.0)
            return
        self._check_occlusion(points)
        # 4. the core, then the lidar-frame objects with the cloud's header
        result = self.pipeline.process(points)
        self.processed += 1
        self.delay.publish(self.objects_pub, objects_msg(result, result.centers, result.yaws, msg.header))
        # 5. the same objects in the map frame, with the odometry closest to the cloud's stamp
        found = self.poses.nearest(stamp)
        self.last_odometry_offset_s = found[1] if found else None
        if found is not None and found[1] <= self.params.odometry_max_offset_s:
            t_map_lidar = found[0] @ self.t_base_lidar
            centers, yaws = boxes_to_frame(t_map_lidar, result.centers, result.yaws)
            header = type(msg.header)(stamp=msg.header.stamp, frame_id=self.params.map_frame)
            self.delay.publish(self.map_pub, objects_msg(result, centers, yaws, header))
            self.map_published += 1
        else:
            self.no_odometry += 1
        self.last_result = result
        self.total_ms.append((time.perf_counter() - t0) * 1e3)

    def _check_occlusion(self, points: np.ndarray) -> None:
        """The blocked sectors of this cloud; a new one ahead is reported at once (the controller stops on it)."""
        ahead_before = self.occlusion.ahead
        before = self.occlusion.sectors
        sectors = self.occlusion.update(points["x"], points["y"])
        if sectors != before and sectors:
            self.get_logger().warning(f"lidar occluded: {', '.join(s.describe() for s in sectors)}",
                                      throttle_duration_sec=1.0)
        if self.occlusion.ahead and not ahead_before:
            self.diagnostics.publish_now()

    def _occlusion_status(self) -> DiagnosticStatus:
        sectors = self.occlusion.sectors
        values = {"sectors": len(sectors), "blocked_deg": sum(s.width_deg for s in sectors)}
        if not sectors:
            return status("occlusion", OK, "no blocked sector", values)
        level = ERROR if self.occlusion.ahead else WARN
        return status("occlusion", level, "lidar occluded: " + ", ".join(
            s.describe() + ("" if s.ahead else " (not ahead)") for s in sectors), values)

    def _collect_diagnostics(self) -> list[DiagnosticStatus]:
        r = self.last_result
        values: dict[str, object] = {"clouds": self.clouds, "bad_clouds": self.bad_clouds,
                                     "repeated_clouds": self.stamps.repeated.get("cloud", 0),
                                     "map_published": self.map_published, "no_odometry": self.no_odometry,
                                     **self.stamp_check.values()}
        processed_now, self._processed_before = self.processed - self._processed_before, self.processed
        dropped_now, self._dropped_before = self.stamp_check.dropped - self._dropped_before, self.stamp_check.dropped
        if self.total_ms:
            values["processing_ms_last"] = float(self.total_ms[-1])
            values["processing_ms_p95"] = float(np.percentile(self.total_ms, 95))
        if r is not None:
            values.update(points_in=r.points_in, points_kept=r.points_kept, ground_points=r.ground_points,
                          objects=r.count)
            values.update({f"{k}_ms": float(v) for k, v in r.timings_ms.items()})
        if self.last_odometry_offset_s is not None:
            values["odometry_offset_s"] = float(self.last_odometry_offset_s)
        since = None if self.last_cloud_mono is None else time.monotonic() - self.last_cloud_mono
        frozen = self.stamps.in_a_row.get("cloud", 0)
        if since is None or since > self.params.cloud_timeout_s:
            level, message = ERROR, ("no new point cloud" if frozen else "no point cloud") + (
                "" if since is None else f" for {since:.1f} s") + (
                f" (the last one repeated {frozen} times: lidar frozen)" if frozen else "")
        elif dropped_now and not processed_now:
            level, message = ERROR, f"{self.stamp_check.describe()}: every cloud dropped"
        elif self.last_error and self.bad_clouds and r is None:
            level, message = ERROR, f"every cloud rejected: {self.last_error}"
        elif dropped_now:
            level, message = WARN, f"{self.stamp_check.describe()}: some clouds dropped"
        elif self.last_odometry_offset_s is None or self.last_odometry_offset_s > self.params.odometry_max_offset_s:
            level, message = WARN, ("no odometry: publishing lidar-frame objects only" if len(self.poses) == 0 else
                                    "no odometry near the cloud stamp: publishing lidar-frame objects only")
        else:
            level, message = OK, f"{r.count if r else 0} objects"
        return [status("pipeline", level, message, values), self._occlusion_status()]


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: LidarDetectorNode(), args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
