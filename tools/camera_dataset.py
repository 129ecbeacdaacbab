"""Labelled camera frames from the simulator, for training and testing the camera detector.

Each frame: the ego on a road lanelet of the district (random place along it, heading along or
against it, a little yaw noise), 1..12 actors (cars, pedestrians, cyclists, emergency vehicles,
trucks, static obstacles) on and beside the road ahead, random time of day and overcast, random
traffic-light states, sensor noise. ``Camera.render`` gives the RGB image and the per-pixel
object id; the 2D box of an actor is the bounding box of its visible pixels. A box is
*ignored* (neither a miss nor a false positive in evaluation) when it is tiny (< 8 px tall or
< 40 px) or heavily occluded (visible pixels < 30 % of the area its whole projected 3D box covers).

Splits: the district's road lanelets are split by id (every 5th lanelet -> held-out ``val``),
so held-out frames show places the training frames never do; each split has its own seed.

    .venv/bin/python tools/camera_dataset.py [--train 1600] [--val 300] [--out build/datasets/camera]
    .venv/bin/python tools/camera_dataset.py --export-test tests/data/perception/camera --count 24

Output (``--out``): ``train_images.npy`` (N, 240, 320, 3) uint8 frames rendered at half resolution
(the 320-wide detector's input scale; 4x faster to render), ``val_images.npy`` (N, 480, 640, 3) at
the camera's full resolution, ``<split>_labels.json`` (per frame: boxes in 640 x 480 pixels
x_min, y_min, x_max, y_max, class names, ignore flags, time of day, lanelet).
``--export-test`` writes full-resolution JPEG (quality 95) frames + ``labels.json`` of the held-out split.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from dataset_common import progress, random_lane_pose, split_lanelets

#: class names, in the detector's class-id order (see models/camera_detector.labels)
CLASSES = ("pedestrian", "cyclist", "car", "truck", "emergency_vehicle", "static_obstacle")
# per class: lsv_sim ObjectClass name, (length, width, height) ranges in m, where it stands
_ACTORS = {
    "pedestrian": ("PEDESTRIAN", ((0.4, 0.6), (0.4, 0.6), (1.5, 1.9)), "side"),
    "cyclist": ("CYCLIST", ((1.6, 1.9), (0.5, 0.7), (1.6, 1.8)), "any"),
    "car": ("CAR", ((3.8, 4.8), (1.7, 1.9), (1.4, 1.7)), "road"),
    "truck": ("TRUCK", ((6.0, 9.0), (2.2, 2.5), (2.8, 3.5)), "road"),
    "emergency_vehicle": ("EMERGENCY_VEHICLE", ((5.0, 6.0), (1.9, 2.1), (2.2, 2.6)), "road"),
    "static_obstacle": ("OBSTACLE", ((0.4, 1.2), (0.4, 1.2), (0.4, 1.0)), "any"),
}
_CLASS_WEIGHTS = np.array([0.3, 0.15, 0.25, 0.08, 0.08, 0.14])
MIN_BOX_H = 8  # px (full resolution): smaller boxes are ignored
MIN_PIXELS = 40  # visible pixels
MIN_VISIBLE = 0.30  # visible pixels / projected 3D box area
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "build" / "datasets" / "camera"
SEEDS = {"train": 1, "val": 2}


@dataclass
class Scene:
    cameras: dict[int, object]  # downscale factor (1 = 640 x 480) -> Camera
    world: object
    ext: object
    lanelets: dict[str, list[int]]


def make_scene() -> Scene:
    from lsv_sim.sensors import Extrinsics
    from lsv_sim.sensors.camera import Camera, CameraParams
    from lsv_sim.sensors.lidar import RayCaster
    from lsv_sim.world import load_world

    world = load_world()
    caster = RayCaster.for_world(world)
    cameras = {f: Camera(CameraParams(width=640 // f, height=480 // f), caster=caster,
                         traffic_lights=world.traffic_lights) for f in (1, 2)}
    return Scene(cameras, world, Extrinsics(), split_lanelets(world, "val"))


def _box_corners(x: float, y: float, z: float, yaw: float, size: tuple[float, float, float]) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    lx, ly, lz = size[0] / 2, size[1] / 2, size[2]
    local = np.array([[sx * lx, sy * ly, sz * lz] for sx in (-1, 1) for sy in (-1, 1) for sz in (0, 1)])
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return local @ rot.T + np.array([x, y, z])


def sample_frame(scene: Scene, split: str, rng: np.random.Generator, factor: int = 1) -> tuple[np.ndarray, dict]:
    """Render one random frame of ``split`` at 640 x 480 / ``factor`` (2: the training frames, rendered
    at the detector's input scale, 4x faster); returns (rgb (H, W, 3) uint8, label dict with boxes
    in 640 x 480 pixels)."""
    from lsv_sim.sensors import Actor, pose_matrix
    from lsv_sim.sensors.camera import Lighting
    from lsv_sim.world import ObjectClass

    world = scene.world
    lid, xy, yaw, z = random_lane_pose(world, scene.lanelets[split], rng, yaw_sigma_rad=0.12)
    base = pose_matrix(float(xy[0]), float(xy[1]), z, yaw=yaw)
    cam_pose = base @ scene.ext.matrix("camera")
    cam_from_map = np.linalg.inv(cam_pose)
    fwd, left = np.array([math.cos(yaw), math.sin(yaw)]), np.array([-math.sin(yaw), math.cos(yaw)])
    actors, names, corners = [], {}, {}
    for i in range(int(rng.integers(2, 14))):
        cls = CLASSES[int(rng.choice(len(CLASSES), p=_CLASS_WEIGHTS / _CLASS_WEIGHTS.sum()))]
        sim_cls, ranges, where = _ACTORS[cls]
        size = tuple(float(rng.uniform(lo, hi)) for lo, hi in ranges)
        along = float(rng.uniform(3.0, 45.0))
        side = where if where != "any" else ("road" if rng.random() < 0.5 else "side")
        lateral = float(rng.normal(0.0, 1.8)) if side == "road" else float(rng.choice([-1, 1]) * rng.uniform(3.8, 6.0))
        lateral *= max(0.3, along / 25.0) if side == "road" else 1.0
        p = xy + fwd * along + left * lateral
        pz = float(world.height_at(p[None])[0])
        if side == "side":
            pz += 0.15  # on the sidewalk (curb height)
        ayaw = yaw + (float(rng.choice([0.0, math.pi])) + rng.normal(0.0, 0.2) if side == "road"
                      else float(rng.uniform(-math.pi, math.pi)))
        oid = i + 1
        actors.append(Actor(oid, int(ObjectClass[sim_cls]), (float(p[0]), float(p[1]), pz, ayaw), size))
        names[oid] = cls
        corners[oid] = _box_corners(float(p[0]), float(p[1]), pz, ayaw, size)
    hours = float(rng.uniform(6.8, 17.2))
    light = Lighting.at_time(hours, overcast=float(rng.uniform(0.0, 0.8)))
    signals = {tl.id: str(rng.choice(["red", "yellow", "green"])) for tl in world.traffic_lights}
    camera = scene.cameras[factor]
    frame = camera.render(cam_pose, actors, light, rng, signals)
    return frame.rgb, {**boxes_of(frame.object_id, names, corners, cam_from_map, camera, factor),
                       "hours": round(hours, 2), "lanelet": lid}


def boxes_of(object_id: np.ndarray, names: dict[int, str], corners: dict[int, np.ndarray],
             cam_from_map: np.ndarray, camera, factor: int = 1) -> dict:
    """2D boxes (visible-pixel extent, in 640 x 480 pixels: ``object_id`` is 1 / ``factor`` of that)
    of the actors in ``object_id``, with ignore flags."""
    from scipy import ndimage

    h, w = object_id.shape
    slices = ndimage.find_objects(object_id)
    counts = np.bincount(object_id.reshape(-1), minlength=len(slices) + 1)
    boxes, classes, ignore = [], [], []
    for oid, sl in enumerate(slices, start=1):
        if sl is None or oid not in names:
            continue
        y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        pts = corners[oid] @ cam_from_map[:3, :3].T + cam_from_map[:3, 3]
        if np.all(pts[:, 2] > 0.1):
            uv = camera.project(pts)
            u0, u1 = np.clip([uv[:, 0].min(), uv[:, 0].max()], 0, w)
            v0, v1 = np.clip([uv[:, 1].min(), uv[:, 1].max()], 0, h)
            full = max((u1 - u0) * (v1 - v0), 1.0)
        else:  # partly behind the camera: the visible part is all we know
            full = float((x1 - x0) * (y1 - y0))
        visible = counts[oid] / full
        small = (y1 - y0) * factor < MIN_BOX_H or counts[oid] * factor * factor < MIN_PIXELS
        boxes.append([float(x0 * factor), float(y0 * factor), float(x1 * factor), float(y1 * factor)])
        classes.append(names[oid])
        ignore.append(bool(small or visible < MIN_VISIBLE))
    return {"boxes": boxes, "classes": classes, "ignore": ignore}


def generate(out: Path, n_train: int, n_val: int) -> None:
    """Write the train split (rendered at 320 x 240) and the held-out val split (640 x 480, what the
    node sees) under ``out`` (overwrites)."""
    out.mkdir(parents=True, exist_ok=True)
    scene = make_scene()
    for split, n, factor in (("train", n_train, 2), ("val", n_val, 1)):
        rng = np.random.default_rng(SEEDS[split])
        images = np.lib.format.open_memmap(out / f"{split}_images.tmp.npy", mode="w+", dtype=np.uint8,
                                           shape=(n, 480 // factor, 640 // factor, 3))
        labels = []
        t0 = time.monotonic()
        for i in range(n):
            rgb, label = sample_frame(scene, split, rng, factor)
            images[i] = rgb
            labels.append(label)
            if i % 10 == 9 or i == n - 1:
                progress(f"rendering {split}", i + 1, n, t0)
        images.flush()
        del images
        (out / f"{split}_labels.json").write_text(json.dumps({"classes": CLASSES, "frames": labels}))
        (out / f"{split}_images.tmp.npy").replace(out / f"{split}_images.npy")


def export_test(out: Path, count: int, seed: int = 3) -> None:
    """Full-resolution held-out frames (val lanelets, their own seed) as JPEG (quality 95) + labels.json."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    scene = make_scene()
    rng = np.random.default_rng(seed)
    frames = []
    t0 = time.monotonic()
    for i in range(count):
        rgb, label = sample_frame(scene, "val", rng)
        name = f"frame_{i:03d}.jpg"  # JPEG quality 95: ~100 kB instead of ~460 kB PNG (the sensor noise)
        cv2.imwrite(str(out / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        frames.append({"file": name, **label})
        progress("rendering test frames", i + 1, count, t0)
    (out / "labels.json").write_text(json.dumps({"classes": CLASSES, "frames": frames}, indent=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--train", type=int, default=1600, help="training frames")
    ap.add_argument("--val", type=int, default=300, help="held-out frames")
    ap.add_argument("--export-test", type=Path, default=None, help="write full-resolution held-out JPEG frames here")
    ap.add_argument("--count", type=int, default=24, help="frames for --export-test")
    args = ap.parse_args(argv)
    if args.export_test is not None:
        export_test(args.export_test, args.count)
    else:
        generate(args.out, args.train, args.val)
    return 0


if __name__ == "__main__":
    sys.exit(main())
