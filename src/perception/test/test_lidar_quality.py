"""Detection quality of the lidar pipeline with the committed classifier (models/point_classifier.onnx)
on held-out simulator scans (tests/data/perception/lidar: places and a seed the training data never
used; written by ``tools/lidar_dataset.py --export-test``).

An actor counts when it got at least ``MIN_RETURNS`` lidar returns and stands inside the crop box
and within ``MAX_RANGE_M``. A detection matches an actor when their box centres are closer than
``1 m + length / 4`` (a truck seen from one end has its centre shifted). Stated minimums:

- recall: >= 85 % of the actors found and given their class (all road-user classes together);
- precision: >= 85 % of the detections classified as a road user (car, truck, bus, cyclist,
  motorcycle, pedestrian, emergency vehicle) are an actor of that class;
- boxes: median centre error <= 0.35 m; median heading error of matched vehicles <= 5 deg.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_perception.lidar.classifier import CLASS_IDS
from lsv_perception.lidar.pipeline import REPO_ROOT, LidarConfig, LidarPipeline

DATA = REPO_ROOT / "tests" / "data" / "perception" / "lidar"
MIN_RETURNS = 15
MAX_RANGE_M = 40.0
MIN_RECALL = 0.85
MIN_PRECISION = 0.85
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


def evaluate() -> dict:
    gt = json.loads((DATA / "ground_truth.json").read_text())
    pipe = LidarPipeline(LidarConfig())  # the defaults: the committed model
    cfg = pipe.config
    found = counted = correct_dets = road_dets = 0
    centre_err, yaw_err, per_class = [], [], {}
    for scan in gt["scans"]:
        r = pipe.process(load_scan(DATA / scan["file"]))
        used = np.zeros(r.count, bool)
        for a in scan["actors"]:
            x, y = a["center"][:2]
            inside = cfg.crop_x_min_m <= x < cfg.crop_x_max_m and cfg.crop_y_min_m <= y < cfg.crop_y_max_m
            if a["points"] < MIN_RETURNS or not inside or math.hypot(x, y) > MAX_RANGE_M:
                continue
            counted += 1
            stats = per_class.setdefault(a["class"], [0, 0])
            stats[1] += 1
            if r.count == 0:
                continue
            d = np.hypot(r.centers[:, 0] - x, r.centers[:, 1] - y)
            d[used] = np.inf
            k = int(np.argmin(d))
            if d[k] > 1.0 + a["size"][0] / 4.0:
                continue
            used[k] = True
            centre_err.append(float(d[k]))
            if a["class"] in VEHICLES:
                e = abs(float(r.yaws[k]) - a["yaw"]) % math.pi
                yaw_err.append(math.degrees(min(e, math.pi - e)))
            if r.class_ids[k] == CLASS_IDS[a["class"]]:
                found += 1
                stats[0] += 1
                if r.class_ids[k] in ROAD_USERS:
                    correct_dets += 1
        road_dets += int(np.isin(r.class_ids, list(ROAD_USERS)).sum())
    return {"recall": found / max(counted, 1), "precision": correct_dets / max(road_dets, 1), "actors": counted,
            "road_user_detections": road_dets, "median_centre_error_m": float(np.median(centre_err)),
            "median_yaw_error_deg": float(np.median(yaw_err)), "per_class": per_class}


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
