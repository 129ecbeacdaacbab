"""Labelled lidar clusters from the simulator, for training and testing the point-set classifier.

Each scan: the ego on a road lanelet of the district (random place along it, heading along or
against it, pitched with the road grade as the simulator does), 2..16 actors (cars, trucks,
pedestrians, cyclists, emergency vehicles, small static obstacles) on and beside the road around
it, the simulator's lidar (``lsv_sim.sensors.lidar``, the parameters of
``src/sim/config/sensors.param.yaml``: 32 beams x 1800 steps, range noise, dropout) with per-point
ground-truth object ids. The lidar pipeline (``lsv_perception.lidar``, default configuration) then
clusters the scan exactly as it does on the vehicle, and each cluster is labelled with the class
of the object most of its points hit: an actor's class, or ``static_obstacle`` for the static
world (walls, poles, light heads, building corners) and the small obstacle actors. Clusters whose
majority holds fewer than ``MIN_PURITY`` of the points (an actor merged with a wall) are kept with
label -1 (not trained on).

Splits: the district's road lanelets are split by id (every 5th lanelet -> held-out ``val``), so
held-out scans are taken at places the training scans never are; each split has its own seed.

    .venv/bin/python tools/lidar_dataset.py [--train 400] [--val 100] [--out build/datasets/lidar]
    .venv/bin/python tools/lidar_dataset.py --export-test tests/data/perception/lidar --count 14

Output (``--out``): ``<split>.npz`` with ``features`` (M, P, F) float32 (the classifier input of
``LidarPipeline.features``), ``labels`` (M,) int64 index into ``CLASSES`` (-1 = mixed cluster),
``purity``, ``range_m``, ``scan`` (M,); ``meta.json`` (classes, counts, configuration, seeds).
``--export-test`` writes held-out scans for ``test_lidar_quality.py``: ``scan_NN.npz`` (``xyz_cm``
(N, 3) int16 centimetres and ``intensity`` (N,) uint8, lidar frame) and ``ground_truth.json`` (per
scan: every actor's class, box centre, size and yaw in the lidar frame and how many returns it got).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from dataset_common import progress, random_lane_pose, split_lanelets

#: classifier classes, in output order (models/point_classifier.labels)
CLASSES = ("static_obstacle", "car", "truck", "pedestrian", "cyclist", "emergency_vehicle")
# per actor kind: class name, lsv_sim ObjectClass name, (length, width, height) ranges in m, where it stands
_ACTORS = {
    "pedestrian": ("pedestrian", "PEDESTRIAN", ((0.4, 0.7), (0.4, 0.7), (1.5, 1.95)), "side"),
    "cyclist": ("cyclist", "CYCLIST", ((1.6, 2.0), (0.5, 0.8), (1.5, 1.9)), "any"),
    "car": ("car", "CAR", ((3.8, 5.0), (1.7, 2.0), (1.4, 1.8)), "road"),
    "truck": ("truck", "TRUCK", ((6.0, 9.0), (2.2, 2.5), (2.8, 3.5)), "road"),
    "emergency_vehicle": ("emergency_vehicle", "EMERGENCY_VEHICLE", ((5.0, 6.0), (1.9, 2.1), (2.2, 2.6)), "road"),
    "obstacle": ("static_obstacle", "OBSTACLE", ((0.4, 1.2), (0.4, 1.2), (0.4, 1.0)), "any"),
}
_KINDS = tuple(_ACTORS)
_KIND_WEIGHTS = np.array([0.3, 0.17, 0.23, 0.08, 0.1, 0.12])
MIN_PURITY = 0.6  # share of a cluster's points on its majority object for the cluster to get a label
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "build" / "datasets" / "lidar"
SEEDS = {"train": 11, "val": 12, "test": 13}


@dataclass
class Scene:
    world: object
    lidar: object
    ext: object
    lanelets: dict[str, list[int]]


@dataclass
class Scan:
    points: np.ndarray  # (N, 4) float32 x, y, z, intensity in the lidar frame
    object_id: np.ndarray  # (N,) int32, 0 = static world
    actors: list[dict]  # per actor: id, class, box centre/size/yaw in the lidar frame
    lanelet: int


def make_scene() -> Scene:
    from lsv_common.paramfile import params_from_file
    from lsv_sim.sensors import Extrinsics
    from lsv_sim.sensors.lidar import Lidar, LidarParams
    from lsv_sim.world import load_world

    world = load_world()
    sensors = REPO / "src" / "sim" / "config" / "sensors.param.yaml"
    params, ext = params_from_file(sensors, LidarParams, Extrinsics)
    return Scene(world, Lidar(params, world.static_mesh()), ext, split_lanelets(world, "val", "test"))


def sample_scan(scene: Scene, split: str, rng: np.random.Generator) -> Scan:
    """One random scan of ``split`` with its actors' ground truth in the lidar frame."""
    from lsv_sim.sensors import Actor, pose_matrix
    from lsv_sim.world import ObjectClass

    world = scene.world
    lid, xy, yaw, z = random_lane_pose(world, scene.lanelets[split], rng, yaw_sigma_rad=0.05)
    pitch = math.atan(world.grade_at(float(xy[0]), float(xy[1]), yaw))
    base = pose_matrix(float(xy[0]), float(xy[1]), z, 0.0, -pitch, yaw)
    t_map_lidar = base @ scene.ext.matrix("lidar")
    t_lidar_map = np.linalg.inv(t_map_lidar)
    fwd, left = np.array([math.cos(yaw), math.sin(yaw)]), np.array([-math.sin(yaw), math.cos(yaw)])
    actors, truth, placed = [], [], []
    for _ in range(int(rng.integers(2, 17))):
        kind = _KINDS[int(rng.choice(len(_KINDS), p=_KIND_WEIGHTS / _KIND_WEIGHTS.sum()))]
        cls, sim_cls, ranges, where = _ACTORS[kind]
        size = tuple(float(rng.uniform(lo, hi)) for lo, hi in ranges)
        along = float(rng.uniform(-30.0, 45.0))
        side = where if where != "any" else ("road" if rng.random() < 0.5 else "side")
        lateral = float(rng.normal(0.0, 2.0)) if side == "road" else float(rng.choice([-1, 1]) * rng.uniform(3.8, 6.0))
        p = xy + fwd * along + left * lateral
        radius = 0.5 * math.hypot(size[0], size[1])
        # keep clear of the ego (its box and the lidar's blind ring) and of the other actors
        if math.hypot(along, lateral) < radius + 4.0 or any(
                math.hypot(*(p - q)) < radius + r + 0.3 for q, r in placed):
            continue
        placed.append((p, radius))
        pz = float(world.height_at(p[None])[0]) + (0.15 if side == "side" else 0.0)  # sidewalk: curb height
        ayaw = yaw + (float(rng.choice([0.0, math.pi])) + rng.normal(0.0, 0.2) if side == "road"
                      else float(rng.uniform(-math.pi, math.pi)))
        oid = len(actors) + 1
        actors.append(Actor(oid, int(ObjectClass[sim_cls]), (float(p[0]), float(p[1]), pz, ayaw), size))
        centre = t_lidar_map @ np.array([p[0], p[1], pz + size[2] / 2.0, 1.0])
        heading = t_lidar_map[:3, :3] @ np.array([math.cos(ayaw), math.sin(ayaw), 0.0])
        lyaw = math.atan2(heading[1], heading[0])
        lyaw = (lyaw + math.pi / 2.0) % math.pi - math.pi / 2.0  # a box's heading is defined modulo pi
        truth.append({"id": oid, "class": cls, "center": [round(float(v), 3) for v in centre[:3]],
                      "size": [round(v, 3) for v in size], "yaw": round(lyaw, 4)})
    scan = scene.lidar.scan(t_map_lidar, actors, rng)
    pts = np.empty((len(scan.points), 4), np.float32)
    for j, name in enumerate(("x", "y", "z", "intensity")):
        pts[:, j] = scan.points[name]
    hits = np.bincount(scan.object_id, minlength=len(actors) + 1)
    for t in truth:
        t["points"] = int(hits[t["id"]])
    return Scan(pts, scan.object_id.astype(np.int32), truth, lid)


def label_clusters(pipeline, scan: Scan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features (M, P, F) float32, labels (M,) int64 (-1 = mixed), purity (M,), range (M,)) of the
    clusters the pipeline finds in ``scan``."""
    c = pipeline.clusters(scan.points)
    m = c.starts.shape[0]
    feats = pipeline.features(c)
    if m == 0:
        return feats, np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    oid = scan.object_id[c.point_index]
    n_ids = max(int(scan.object_id.max()), len(scan.actors)) + 1
    votes = np.zeros((m, n_ids), np.int64)
    np.add.at(votes, (c.point_object, oid), 1)
    best = votes.argmax(axis=1)
    purity = votes[np.arange(m), best] / c.counts
    class_of_id = np.zeros(n_ids, np.int64)  # 0 (static world) -> static_obstacle
    for t in scan.actors:
        class_of_id[t["id"]] = CLASSES.index(t["class"])
    labels = np.where(purity >= MIN_PURITY, class_of_id[best], -1)
    return feats, labels, purity, np.hypot(c.centers[:, 0], c.centers[:, 1])


def default_pipeline():
    from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline

    return LidarPipeline(LidarConfig(classifier="geometric"))  # the classifier is what is being trained


def generate(out: Path, n_train: int, n_val: int, scene: Scene | None = None) -> None:
    """Write ``train.npz``, ``val.npz`` and ``meta.json`` under ``out``."""
    t_start = time.monotonic()
    scene = scene or make_scene()
    pipeline = default_pipeline()
    out.mkdir(parents=True, exist_ok=True)
    meta = {"classes": list(CLASSES), "seeds": SEEDS, "min_purity": MIN_PURITY,
            "pipeline": dataclasses.asdict(pipeline.config), "splits": {}}
    for split, n in (("train", n_train), ("val", n_val)):
        rng = np.random.default_rng(SEEDS[split])
        feats, labels, purity, rng_m, scan_ids = [], [], [], [], []
        t0 = time.monotonic()
        for i in range(n):
            scan = sample_scan(scene, split, rng)
            f, lab, pur, r = label_clusters(pipeline, scan)
            feats.append(f)
            labels.append(lab)
            purity.append(pur)
            rng_m.append(r)
            scan_ids.append(np.full(len(lab), i))
            progress(f"lidar {split}", i + 1, n, t0, f"{sum(len(x) for x in labels)} clusters")
        lab = np.concatenate(labels)
        np.savez_compressed(out / f"{split}.npz", features=np.concatenate(feats), labels=lab,
                            purity=np.concatenate(purity).astype(np.float32),
                            range_m=np.concatenate(rng_m).astype(np.float32), scan=np.concatenate(scan_ids))
        meta["splits"][split] = {"scans": n, "clusters": len(lab), "mixed": int(np.sum(lab < 0)),
                                 "per_class": {c: int(np.sum(lab == k)) for k, c in enumerate(CLASSES)}}
    meta["generation_s"] = round(time.monotonic() - t_start, 1)
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def export_test(out: Path, count: int, scene: Scene | None = None) -> None:
    """Held-out scans (val lanelets, their own seed) + ground truth for the quality test."""
    scene = scene or make_scene()
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEEDS["test"])
    gt = {"frame": "lidar", "units": "xyz_cm: centimetres (int16); intensity 0..255 (uint8); boxes in m, rad",
          "seed": SEEDS["test"], "scans": []}
    t0 = time.monotonic()
    for i in range(count):
        scan = sample_scan(scene, "test", rng)
        pts = scan.points
        # only what the default crop box keeps (x -40..60 m, y +-40 m): the rest is never used
        near = (pts[:, 0] >= -40.0) & (pts[:, 0] < 60.0) & (np.abs(pts[:, 1]) < 40.0) & (np.abs(pts[:, 2]) < 300.0)
        name = f"scan_{i:02d}.npz"
        np.savez_compressed(out / name, xyz_cm=np.round(pts[near, :3] * 100.0).astype(np.int16),
                            intensity=np.clip(np.round(pts[near, 3]), 0, 255).astype(np.uint8))
        gt["scans"].append({"file": name, "lanelet": scan.lanelet, "actors": scan.actors})
        progress("lidar test scans", i + 1, count, t0)
    (out / "ground_truth.json").write_text(json.dumps(gt, indent=1) + "\n")


def load_test_scan(path: Path) -> np.ndarray:
    """A ``scan_NN.npz`` of ``export_test`` -> (N, 4) float32 x, y, z, intensity."""
    with np.load(path) as z:
        pts = np.empty((len(z["intensity"]), 4), np.float32)
        pts[:, :3] = z["xyz_cm"] * np.float32(0.01)
        pts[:, 3] = z["intensity"]
    return pts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=400, help="training scans (default 400)")
    ap.add_argument("--val", type=int, default=100, help="held-out scans (default 100)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--export-test", type=Path, metavar="DIR", help="write held-out test scans to DIR instead")
    ap.add_argument("--count", type=int, default=14, help="scans for --export-test (default 14)")
    args = ap.parse_args(argv)
    if args.export_test:
        export_test(args.export_test, args.count)
    else:
        generate(args.out, args.train, args.val)
    return 0


if __name__ == "__main__":
    sys.exit(main())
