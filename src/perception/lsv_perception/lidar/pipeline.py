"""The lidar object pipeline: points in the lidar frame -> oriented 3D boxes with class and score.

    from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline
    result = LidarPipeline(LidarConfig()).process(points)   # (N, 4) float32 x, y, z, intensity

Stages (each timed in ``result.timings_ms``): crop (box around the sensor, minus the ego vehicle,
NaN/inf dropped) -> voxel downsample -> slope-aware grid ground removal (``ground.py``) -> height
filter (points more than ``max_object_height_m`` above the local ground are dropped) -> grid
connected-components clustering (``cluster.py``) -> oriented boxes (``boxes.py``) -> size filter ->
point-set classifier (``classifier.py``: ONNX model, or the geometric rules when configured).
Everything is array-wide numpy / scipy / ONNX Runtime: no per-point or per-cluster Python loop.
Pure core: no ROS, no clock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lsv_common import share
from lsv_common.params import spec
from lsv_perception.lidar.boxes import fit_boxes
from lsv_perception.lidar.classifier import (
    ModelLoadError,
    PointClassifier,
    cluster_features,
    geometric_classes,
)
from lsv_perception.lidar.cluster import ClusterGrid, segments
from lsv_perception.lidar.faces import FaceParams
from lsv_perception.lidar.ground import GroundGrid
from lsv_perception.lidar.preprocess import as_xyzi, crop_mask, voxel_downsample

#: the repository root of a source checkout (src/perception/lsv_perception/lidar/pipeline.py)
DEFAULT_MODEL = "models/point_classifier.onnx"


def _f(default: float, description: str, unit: str, lo: float, hi: float, name: str):
    return field(default=default, metadata=spec(description, unit=unit, min=lo, max=hi, optional=True, name=name))


@dataclass(frozen=True)
class LidarConfig:
    """Parameters of the lidar pipeline (ROS names in ``name=``; lidar frame, SI units)."""

    crop_x_min_m: float = _f(-40.0, "crop box rear edge", "m", -200.0, 0.0, "crop.x_min_m")
    crop_x_max_m: float = _f(60.0, "crop box front edge", "m", 0.0, 200.0, "crop.x_max_m")
    crop_y_min_m: float = _f(-40.0, "crop box right edge", "m", -200.0, 0.0, "crop.y_min_m")
    crop_y_max_m: float = _f(40.0, "crop box left edge", "m", 0.0, 200.0, "crop.y_max_m")
    crop_z_min_m: float = _f(-15.0, "crop box bottom (room for downhill grades)", "m", -50.0, 0.0, "crop.z_min_m")
    crop_z_max_m: float = _f(15.0, "crop box top (room for uphill grades)", "m", 0.0, 50.0, "crop.z_max_m")
    ego_x_min_m: float = _f(-3.0, "ego vehicle box rear edge (points inside are the vehicle itself)", "m",
                            -20.0, 0.0, "ego.x_min_m")
    ego_x_max_m: float = _f(1.5, "ego vehicle box front edge", "m", 0.0, 20.0, "ego.x_max_m")
    ego_y_half_m: float = _f(1.0, "ego vehicle box half width (0 = no ego filter)", "m", 0.0, 10.0,
                             "ego.y_half_width_m")
    voxel_m: float = _f(0.1, "voxel edge of the downsampling (0 = off)", "m", 0.0, 1.0, "voxel_m")
    ground_cell_m: float = _f(0.5, "ground grid cell", "m", 0.1, 5.0, "ground.cell_m")
    ground_window_cells: int = field(default=7, metadata=spec(
        "ground neighbourhood, cells a side (odd)", min=1, max=51, optional=True, name="ground.window_cells"))
    ground_max_slope: float = _f(0.2, "steepest ground accepted between a cell and its neighbourhood (rise/run)", "",
                                 0.0, 1.0, "ground.max_slope")
    ground_height_m: float = _f(0.2, "points up to this height above their cell's ground are ground", "m",
                                0.0, 2.0, "ground.height_threshold_m")
    max_object_height_m: float = _f(4.0, "points higher than this above the local ground are dropped", "m",
                                    0.5, 20.0, "max_object_height_m")
    cluster_cell_m: float = _f(0.25, "clustering grid cell (occupied neighbours join one cluster)", "m",
                               0.05, 2.0, "cluster.cell_m")
    cluster_min_points: int = field(default=5, metadata=spec(
        "smaller clusters are dropped", min=1, max=10000, optional=True, name="cluster.min_points"))
    cluster_azimuth_resolution_deg: float = _f(
        0.2, "azimuth between two firings of one beam (360 / firings per revolution): sets how far apart the "
        "returns on a face seen at a grazing angle are", "deg", 0.01, 5.0, "cluster.azimuth_resolution_deg")
    cluster_face_max_gap_m: float = _f(
        1.0, "largest gap bridged along a face seen at a grazing angle (0 = faces are not joined)", "m", 0.0, 5.0,
        "cluster.face_max_gap_m")
    cluster_face_gap_factor: float = _f(
        2.0, "gap bridged along a face / spacing of successive firings on it", "", 1.0, 10.0,
        "cluster.face_gap_factor")
    cluster_face_tolerance_m: float = _f(
        0.15, "distance from a face's line that still counts as on the face", "m", 0.01, 1.0,
        "cluster.face_tolerance_m")
    max_object_length_m: float = _f(12.0, "longer clusters (building facades, walls, hedges) are map, not objects",
                                    "m", 1.0, 100.0, "max_object_length_m")
    classifier: str = field(default="onnx", metadata=spec(
        "'onnx': the point-set model of model_path; 'geometric': box-size rules, no model (for tests and "
        "bring-up only)", choices=("onnx", "geometric"), optional=True, name="classifier.type"))
    model_path: str = field(default=DEFAULT_MODEL, metadata=spec(
        "ONNX point classifier; a relative path is looked up from the working directory, then "
        "$LSV_MODELS_DIR and lsv_perception's share folder (models/ = the repository's models/)", optional=True,
        name="classifier.model_path"))
    labels_path: str = field(default="", metadata=spec(
        "class names of the model outputs ('' = model_path with .labels)", optional=True,
        name="classifier.labels_path"))
    num_points: int = field(default=64, metadata=spec(
        "points sampled per cluster (the model's input size)", min=4, max=4096, optional=True,
        name="classifier.num_points"))
    threads: int = field(default=1, metadata=spec(
        "ONNX Runtime intra-op threads", min=1, max=64, optional=True, name="classifier.threads"))

    def __post_init__(self) -> None:
        if self.crop_x_max_m <= self.crop_x_min_m or self.crop_y_max_m <= self.crop_y_min_m:
            raise ValueError("crop box is empty: crop.x_max_m/crop.y_max_m must exceed crop.x_min_m/crop.y_min_m")


def resolve_model_path(path: str) -> Path:
    """A configured model path: absolute as given; a relative one is looked up from the working
    directory, then (by file name) in ``$LSV_MODELS_DIR``, then in lsv_perception's share folder
    (``lsv_common.share``: ament index, source tree, install prefix; ``models/`` there is the repository's
    ``models/``); the first that exists (else the share folder's, for the error)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    candidates = [Path(os.environ["LSV_MODELS_DIR"]) / p.name] if os.environ.get("LSV_MODELS_DIR") else []
    candidates += share.candidates("lsv_perception", p)
    return next((c for c in candidates if c.is_file()), candidates[-1] if candidates else p)


@dataclass
class LidarResult:
    """Objects of one scan (M of them, lidar frame) plus what the node reports on diagnostics."""

    centers: np.ndarray  # (M, 3) float64 box centre x, y, z, m
    dimensions: np.ndarray  # (M, 3) float64 length, width, height, m
    yaws: np.ndarray  # (M,) float64 heading of the length axis about z, rad, (-pi/2, pi/2]
    class_ids: np.ndarray  # (M,) int64 lsv_msgs/DetectedObject CLASS_*
    scores: np.ndarray  # (M,) float32 class confidence in [0, 1]
    num_points: np.ndarray  # (M,) int64 points (after downsampling) in each object
    point_index: np.ndarray  # (K,) int64 input index of every point of an object
    point_object: np.ndarray  # (K,) int64 object (0..M-1) of each of those points
    points_in: int = 0
    points_kept: int = 0  # after crop and voxel downsampling
    ground_points: int = 0
    clusters: int = 0  # before the size filter
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.centers.shape[0])


@dataclass
class Clusters:
    """The objects of one scan before classification: their points sorted by object."""

    points: np.ndarray  # (K, 4) float32 x, y, z, intensity, object by object
    above: np.ndarray  # (K,) float32 height above the local ground, m
    point_index: np.ndarray  # (K,) int64 input index of each point
    point_object: np.ndarray  # (K,) int64 object (0..M-1) of each point (ascending)
    starts: np.ndarray  # (M,) int64 first point of each object
    counts: np.ndarray  # (M,) int64 points of each object
    centers: np.ndarray  # (M, 3)
    dimensions: np.ndarray  # (M, 3)
    yaws: np.ndarray  # (M,)
    points_in: int
    points_kept: int
    ground_points: int
    clusters: int
    timings_ms: dict[str, float]
    t_start: float


class LidarPipeline:
    """Builds its grids and loads the classifier once (``ModelLoadError`` at construction on a bad
    model), then ``process`` runs one scan."""

    def __init__(self, config: LidarConfig | None = None):
        c = self.config = config or LidarConfig()
        self.x_range = (c.crop_x_min_m, c.crop_x_max_m)
        self.y_range = (c.crop_y_min_m, c.crop_y_max_m)
        self.z_range = (c.crop_z_min_m, c.crop_z_max_m)
        self.ego_x = (c.ego_x_min_m, c.ego_x_max_m)
        self.ego_y = (-c.ego_y_half_m, c.ego_y_half_m)
        self.ground = GroundGrid(self.x_range, self.y_range, c.ground_cell_m, c.ground_window_cells,
                                 c.ground_max_slope, c.ground_height_m)
        self.grid = ClusterGrid(self.x_range, self.y_range, c.cluster_cell_m)
        self.faces = FaceParams(np.deg2rad(c.cluster_azimuth_resolution_deg), c.cluster_face_max_gap_m,
                                c.cluster_face_gap_factor, c.cluster_face_tolerance_m,
                                min_gap_m=c.cluster_cell_m, max_length_m=c.max_object_length_m)
        self.model: PointClassifier | None = None
        if c.classifier == "onnx":
            if not c.model_path:
                raise ModelLoadError("classifier.type is 'onnx' but classifier.model_path is empty "
                                     "(set a model, or classifier.type: geometric)")
            labels = resolve_model_path(c.labels_path) if c.labels_path else None
            self.model = PointClassifier(resolve_model_path(c.model_path), c.num_points, labels, c.threads)

    def segment(self, points: np.ndarray) -> tuple[np.ndarray, ...]:
        """Stages up to clustering: (xyzi (K, 4) float32 kept points, their input indices (K,),
        height above ground (K,), cluster (K,) int32 (-1 = ground or too small), timings)."""
        t = [time.perf_counter()]
        timings: dict[str, float] = {}
        xyzi = as_xyzi(points)
        keep = np.flatnonzero(crop_mask(xyzi, self.x_range, self.y_range, self.z_range, self.ego_x, self.ego_y))
        xyzi = xyzi[keep]
        t.append(time.perf_counter())
        sub = voxel_downsample(xyzi[:, :3], self.config.voxel_m, (self.x_range[0], self.y_range[0], self.z_range[0]))
        xyzi, keep = xyzi[sub], keep[sub]
        t.append(time.perf_counter())
        ground, above, _ = self.ground.split(xyzi[:, :3])
        t.append(time.perf_counter())
        labels = self.grid.label(xyzi[:, :3][~ground & (above <= self.config.max_object_height_m)],
                                 self.config.cluster_min_points, self.faces)
        full = np.full(xyzi.shape[0], -1, np.int32)
        full[~ground & (above <= self.config.max_object_height_m)] = labels
        t.append(time.perf_counter())
        for name, a, b in zip(("crop", "voxel", "ground", "cluster"), t[:-1], t[1:], strict=True):
            timings[name] = (b - a) * 1e3
        return xyzi, keep, above, full, int(np.count_nonzero(ground)), timings

    def clusters(self, points: np.ndarray) -> Clusters:
        """Every stage but the classifier (the training-data tool labels these clusters)."""
        t_start = time.perf_counter()
        n_in = int(np.asarray(points).shape[0]) if np.asarray(points).ndim else 0
        xyzi, keep, above, labels, n_ground, timings = self.segment(points)
        order, starts, counts = segments(labels)
        t0 = time.perf_counter()
        pts = xyzi[order]
        boxes = fit_boxes(pts[:, :2], pts[:, 2], pts[:, 2] - above[order], starts, counts)
        ok = np.flatnonzero(boxes.dimensions[:, 0] <= self.config.max_object_length_m)
        # objects are the clusters that pass the size filter: keep only their points
        owner = np.repeat(np.arange(starts.shape[0]), counts)
        renumber = np.full(starts.shape[0], -1, np.int64)
        renumber[ok] = np.arange(ok.shape[0])
        point_object = renumber[owner]
        sel = point_object >= 0
        counts_ok = counts[ok]
        starts_ok = np.zeros(ok.shape[0], np.int64)
        if ok.shape[0]:
            np.cumsum(counts_ok[:-1], out=starts_ok[1:])
        timings["boxes"] = (time.perf_counter() - t0) * 1e3
        return Clusters(pts[sel], above[order][sel], keep[order][sel].astype(np.int64), point_object[sel], starts_ok,
                        counts_ok.astype(np.int64), boxes.centers[ok], boxes.dimensions[ok], boxes.yaws[ok],
                        n_in, int(xyzi.shape[0]), n_ground, int(starts.shape[0]), timings, t_start)

    def features(self, c: Clusters) -> np.ndarray:
        """(M, num_points, NUM_FEATURES) float32 classifier input of the clusters."""
        return cluster_features(c.points, c.above, c.starts, c.counts, c.centers, c.dimensions, c.yaws,
                                self.config.num_points)

    def process(self, points: np.ndarray) -> LidarResult:
        """One scan: (N, 4) float32 x, y, z, intensity (or (N,) structured POINT_XYZIR) in the lidar
        frame -> LidarResult. Empty, all-NaN or all-out-of-range input gives an empty result."""
        c = self.clusters(points)
        timings = c.timings_ms
        t1 = time.perf_counter()
        if self.model is not None:
            feats = self.features(c)
            t2 = time.perf_counter()
            class_ids, scores = self.model(feats)
        else:
            t2 = time.perf_counter()
            class_ids, scores = geometric_classes(c.dimensions)
        t3 = time.perf_counter()
        timings.update(features=(t2 - t1) * 1e3, classify=(t3 - t2) * 1e3, total=(t3 - c.t_start) * 1e3)
        return LidarResult(c.centers, c.dimensions, c.yaws, class_ids.astype(np.int64), scores.astype(np.float32),
                           c.counts, c.point_index, c.point_object, c.points_in, c.points_kept, c.ground_points,
                           c.clusters, timings)
