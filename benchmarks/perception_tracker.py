"""Tracker and fusion hot paths with 100 objects: one tracker cycle (predict, gated cost,
Hungarian, update, life cycle, births) and one camera-lidar fusion (projection of 100 boxes,
IoU against 60 camera boxes, matching, merge), plus the message conversion of 100 tracks.

    .venv/bin/python benchmarks/perception_tracker.py [--cycles N] [--objects K]

The scene: K objects (cars, cyclists, pedestrians) on a grid around the vehicle moving with
constant velocity and turn rate, measured at 10 Hz with 0.1 m noise, 5 % missed detections
and 5 % clutter. Progress goes to stderr; the last stdout line is one JSON object:
{"name": "perception_tracker", "n": ..., "median_ms": ..., "p95_ms": ...,   # MultiObjectTracker.update, wall
 "cpu_median_ms": ..., "cpu_p95_ms": ...,          # the same, CPU time of the thread (robust to a busy machine)
 "fusion_median_ms": ..., "fusion_p95_ms": ..., "fusion_cpu_median_ms": ..., "fusion_cpu_p95_ms": ...,
 "to_msg_median_ms": ..., "to_msg_p95_ms": ..., "to_msg_cpu_median_ms": ..., "to_msg_cpu_p95_ms": ...,
 "objects": K, "tracks_confirmed": ..., "id_changes": ...}
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from lsv_perception.fusion.fuse import FusionParams, fuse_camera
from lsv_perception.fusion.projection import Calibration, box_corners, camera_extrinsic, project_boxes
from lsv_perception.tracking import Measurements, MultiObjectTracker
from lsv_perception.tracking.params import CLASS_CAR, CLASS_CYCLIST, CLASS_PEDESTRIAN, SOURCE_LIDAR

NS = 1_000_000_000
DT = 0.1


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def stats(times_s: list[float]) -> tuple[float, float]:
    a = np.asarray(times_s) * 1e3
    return float(np.median(a)), float(np.percentile(a, 95))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=300)
    ap.add_argument("--objects", type=int, default=100)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(7)
    k = a.objects
    side = math.ceil(math.sqrt(k))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:k] * 7.0 - 3.5 * side
    cls = np.array([CLASS_CAR, CLASS_CYCLIST, CLASS_PEDESTRIAN])[np.arange(k) % 3]
    speed = np.where(cls == CLASS_CAR, 6.0, np.where(cls == CLASS_CYCLIST, 4.0, 1.3))
    dims = np.where((cls == CLASS_CAR)[:, None], [4.5, 1.8, 1.5], np.where((cls == CLASS_CYCLIST)[:, None],
                                                                             [1.8, 0.6, 1.7], [0.6, 0.6, 1.7]))
    heading = rng.uniform(-math.pi, math.pi, k)
    turn = np.where(cls == CLASS_PEDESTRIAN, 0.0, rng.uniform(-0.1, 0.1, k))
    xy = grid.astype(float) + np.array([12.0, 0.0])
    tracker = MultiObjectTracker()
    calib = Calibration(np.array([[320.0, 0, 319.5], [0, 320.0, 239.5], [0, 0, 1]]), 640, 480,
                        camera_extrinsic(2.1, 0.0, 1.6, 0.0, 0.05, 0.0))
    t_map_base = np.eye(4)
    fparams = FusionParams()
    t_update, t_fuse, t_msg, cpu_update, cpu_fuse, cpu_msg = [], [], [], [], [], []
    to_msg = None
    try:  # message conversion needs the ROS message packages (always there in the venv)
        from lsv_perception.tracker_node import tracks_to_msg

        to_msg = tracks_to_msg
    except ImportError as err:
        log(f"no message conversion timing: {err}")
    from builtin_interfaces.msg import Time

    first_id: dict[int, int] = {}
    id_changes = 0
    for c in range(a.cycles):
        heading += turn * DT
        xy += DT * speed[:, None] * np.column_stack([np.cos(heading), np.sin(heading)])
        seen = rng.random(k) > 0.05
        z = xy[seen] + rng.normal(0.0, 0.1, (int(seen.sum()), 2))
        n_clutter = rng.poisson(0.05 * k)
        clutter = rng.uniform(-3.5 * side, 3.5 * side, (n_clutter, 2))
        mxy = np.vstack([z, clutter])
        m = len(mxy)
        meas = Measurements(mxy, np.full(m, 0.8), np.vstack([dims[seen], np.tile([0.5, 0.5, 0.5], (n_clutter, 1))]),
                            np.concatenate([heading[seen], np.zeros(n_clutter)]),
                            np.concatenate([cls[seen], np.zeros(n_clutter, int)]),
                            np.concatenate([np.full(int(seen.sum()), 0.8), np.full(n_clutter, 0.4)]),
                            np.full(m, SOURCE_LIDAR))
        # camera boxes: the projections of ~60 % of the objects, jittered by 2 px
        corners = box_corners(np.column_stack([mxy, meas.z]), meas.dims, meas.yaw)
        boxes, valid = project_boxes(corners, calib.t_camera_map(t_map_base), calib)
        cam = boxes[valid][: int(0.6 * k)] + rng.normal(0.0, 2.0, (min(int(valid.sum()), int(0.6 * k)), 4))
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fused = fuse_camera(meas, cam, np.full(len(cam), CLASS_PEDESTRIAN), np.full(len(cam), 0.7), calib, t_map_base,
                            fparams)
        t1 = time.perf_counter()
        c1 = time.thread_time()
        tracker.update(round(c * DT * NS), fused.measurements)
        t2 = time.perf_counter()
        cpu_update.append(time.thread_time() - c1)
        cpu_fuse.append(c1 - c0)
        t_fuse.append(t1 - t0)
        t_update.append(t2 - t1)
        tracks = tracker.tracks()
        if to_msg is not None:
            t3, c3 = time.perf_counter(), time.thread_time()
            to_msg(tracks, Time(), 0.5)
            t_msg.append(time.perf_counter() - t3)
            cpu_msg.append(time.thread_time() - c3)
        if c >= 10:  # which track follows each object (nearest within 1 m)
            d = np.hypot(tracks.x[:, None, 0] - xy[None, :, 0], tracks.x[:, None, 1] - xy[None, :, 1])
            if len(tracks):
                best = np.argmin(d, axis=0)
                for j in np.flatnonzero(d[best, np.arange(k)] < 1.0):
                    tid = int(tracks.ids[best[j]])
                    if first_id.setdefault(int(j), tid) != tid:
                        id_changes += 1
                        first_id[int(j)] = tid
        if c % 100 == 0:
            log(f"cycle {c}: {len(tracks)} confirmed tracks, update {t_update[-1] * 1e3:.2f} ms")
    med, p95 = stats(t_update)
    fmed, fp95 = stats(t_fuse)
    cmed, cp95 = stats(cpu_update)
    cfmed, cfp95 = stats(cpu_fuse)
    out = {"name": "perception_tracker", "n": a.cycles, "median_ms": round(med, 3), "p95_ms": round(p95, 3),
           "cpu_median_ms": round(cmed, 3), "cpu_p95_ms": round(cp95, 3),
           "fusion_median_ms": round(fmed, 3), "fusion_p95_ms": round(fp95, 3),
           "fusion_cpu_median_ms": round(cfmed, 3), "fusion_cpu_p95_ms": round(cfp95, 3), "objects": k,
           "tracks_confirmed": len(tracker.tracks()), "id_changes": id_changes}
    if t_msg:
        mmed, mp95 = stats(t_msg)
        cmmed, cmp95 = stats(cpu_msg)
        out.update(to_msg_median_ms=round(mmed, 3), to_msg_p95_ms=round(mp95, 3), to_msg_cpu_median_ms=round(cmmed, 3),
                   to_msg_cpu_p95_ms=round(cmp95, 3))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
