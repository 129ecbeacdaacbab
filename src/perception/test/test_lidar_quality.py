"""Detection quality of the lidar pipeline with the committed classifier (models/point_classifier.onnx)
on held-out simulator scans (tests/data/perception/lidar: places and a seed the training data never
used; written by ``tools/lidar_dataset.py --export-test``).

An actor counts when it got at least ``MIN_RETURNS`` lidar returns and stands inside the crop box
and within ``MAX_RANGE_M``. A detection matches an actor when the detection's box centre lies in the
actor's footprint grown by ``MATCH_MARGIN_M`` (a car seen only from its rear has its box centre on
its rear face, up to half a length from the true centre) and has the actor's class. Stated minimums:

- recall: >= MIN_RECALL of the counted actors matched (all classes together);
- precision: >= MIN_PRECISION of the detections within ``MAX_RANGE_M`` classified as a road user
  (car, truck, bus, cyclist, motorcycle, pedestrian, emergency vehicle) match an actor;
- boxes: median centre error <= MAX_MEDIAN_CENTRE_ERROR_M; the box edges of matched vehicles are
  parallel to the vehicle's sides within MAX_MEDIAN_YAW_ERROR_DEG (median, modulo 90 deg: a vehicle
  seen end-on shows one face, whose long side is the vehicle's width).

Measured with the committed model: recall 0.96, precision 0.88, centre error 0.10 m (67 actors).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_perception.lidar.classifier import CLASS_IDS
from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "perception" / "lidar"
MIN_RETURNS = 15
MAX_RANGE_M = 40.0
MATCH_MARGIN_M = 0.5
MIN_RECALL = 0.85
MIN_PRECISION = 0.80
MAX_MEDIAN_CENTRE_ERROR_M = 0.35
MAX_MEDIAN_YAW_ERROR_DEG = 5.0
ROAD_USERS = {CLASS_IDS[c] for c in ("car", "truck", "bus", "cyclist", "motorcycle", "pedestrian",
                                     "emergency_vehicle")}
VEHICLES = {"car", "truck", "emergency_vehicle"}


def load_scan(path: Path) -> np.ndarray:
    with np.load(path) as z:
        pts = np.empty((len(z["intensity"]), 4), np.float32)
        pts[:, :3] = z["xyz_cm"] * np.float32(0.01)
        pts[:, 3] = z["intensity"]
    return pts


def inside_footprints(points_xy: np.ndarray, actors: list[dict], margin_m: float) -> np.ndarray:
    """(D, A) bool: detection centre d lies in actor a's footprint grown by ``margin_m`` on every side."""
    if not actors or len(points_xy) == 0:
        return np.zeros((len(points_xy), len(actors)), bool)
    c = np.array([a["center"][:2] for a in actors])
    size = np.array([a["size"][:2] for a in actors])
    yaw = np.array([a["yaw"] for a in actors])
    d = points_xy[:, None, :] - c[None]
    u = d[..., 0] * np.cos(yaw) + d[..., 1] * np.sin(yaw)
    v = -d[..., 0] * np.sin(yaw) + d[..., 1] * np.cos(yaw)
    return (np.abs(u) <= size[:, 0] / 2 + margin_m) & (np.abs(v) <= size[:, 1] / 2 + margin_m)


def evaluate() -> dict:
    gt = json.loads((DATA / "ground_truth.json").read_text())
    pipe = LidarPipeline(LidarConfig())  # the defaults: the committed model
    cfg = pipe.config
    found = counted = true_dets = road_dets = 0
    centre_err, yaw_err, per_class, wrong = [], [], {}, []
    for scan in gt["scans"]:
        r = pipe.process(load_scan(DATA / scan["file"]))
        actors = scan["actors"]
        hit = inside_footprints(r.centers[:, :2], actors, MATCH_MARGIN_M)  # (D, A)
        same = np.array([[CLASS_IDS[a["class"]] == c for a in actors] for c in r.class_ids.tolist()],
                        bool).reshape(hit.shape)
        for j, a in enumerate(actors):
            x, y = a["center"][:2]
            inside = cfg.crop_x_min_m <= x < cfg.crop_x_max_m and cfg.crop_y_min_m <= y < cfg.crop_y_max_m
            if a["points"] < MIN_RETURNS or not inside or math.hypot(x, y) > MAX_RANGE_M:
                continue
            counted += 1
            stats = per_class.setdefault(a["class"], [0, 0])
            stats[1] += 1
            good = np.flatnonzero(hit[:, j] & same[:, j])
            if len(good):
                found += 1
                stats[0] += 1
                k = good[np.argmax(r.num_points[good])]
                centre_err.append(float(np.hypot(*(r.centers[k, :2] - (x, y)))))
                if a["class"] in VEHICLES:  # edges vs sides: modulo 90 deg (one face seen: its long axis is the width)
                    e = abs(float(r.yaws[k]) - a["yaw"]) % (math.pi / 2)
                    yaw_err.append(math.degrees(min(e, math.pi / 2 - e)))
        near = np.hypot(r.centers[:, 0], r.centers[:, 1]) <= MAX_RANGE_M
        road = near & np.isin(r.class_ids, list(ROAD_USERS))
        road_dets += int(road.sum())
        true_dets += int((road & (hit & same).any(axis=1)).sum())
        bad = road & ~(hit & same).any(axis=1)
        wrong += [f"{scan['file']}: class {c} at {np.round(p, 1).tolist()}"
                  for c, p in zip(r.class_ids[bad].tolist(), r.centers[bad], strict=True)]
    return {"recall": found / max(counted, 1), "precision": true_dets / max(road_dets, 1), "actors": counted,
            "road_user_detections": road_dets, "median_centre_error_m": float(np.median(centre_err)),
            "median_yaw_error_deg": float(np.median(yaw_err)), "per_class": per_class, "false_positives": wrong}


@pytest.fixture(scope="module")
def quality() -> dict:
    if not (DATA / "ground_truth.json").is_file():
        pytest.fail(f"held-out lidar scans missing: {DATA} (tools/lidar_dataset.py --export-test {DATA})")
    return evaluate()


def test_enough_held_out_actors_to_mean_something(quality):
    assert quality["actors"] >= 40, quality
    assert len(quality["per_class"]) >= 5, quality


def test_recall_and_precision_on_held_out_scans(quality):
    assert quality["recall"] >= MIN_RECALL, quality
    assert quality["precision"] >= MIN_PRECISION, quality


def test_box_centres_and_headings_on_held_out_scans(quality):
    assert quality["median_centre_error_m"] <= MAX_MEDIAN_CENTRE_ERROR_M, quality
    assert quality["median_yaw_error_deg"] <= MAX_MEDIAN_YAW_ERROR_DEG, quality
