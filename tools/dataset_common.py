"""What the simulator data tools share: the held-out split of the district's road lanelets, a
random ego pose on a lane, and a one-line progress bar.

The camera and lidar datasets draw their random numbers in the same order through these
helpers, so a fixed seed keeps giving the same frames (the committed models retrain
byte-identical).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np


def progress(label: str, i: int, n: int, t0: float, extra: str = "") -> None:
    """A one-line progress bar on stderr."""
    done = i / max(n, 1)
    eta = (time.monotonic() - t0) / max(done, 1e-9) * (1.0 - done)
    bar = "#" * int(30 * done)
    sys.stderr.write(f"\r{label} [{bar:<30}] {i}/{n} eta {eta:4.0f} s" + (f" {extra}" if extra else ""))
    if i >= n:
        sys.stderr.write("\n")
    sys.stderr.flush()


def split_lanelets(world, *held_out: str) -> dict[str, list[int]]:
    """Every 5th road lanelet for each held-out split name, the others for "train": held-out
    frames never show a place the model was trained on."""
    ids = sorted(world.road_lanelet_ids)
    return {"train": [i for k, i in enumerate(ids) if k % 5], **{name: ids[::5] for name in held_out}}


def random_lane_pose(world, lanelet_ids: list[int], rng: np.random.Generator,
                     yaw_sigma_rad: float) -> tuple[int, np.ndarray, float, float]:
    """A random point on a random lanelet's centreline: (lanelet id, xy (2,), yaw (rad; facing
    backwards 30 % of the time, plus Gaussian noise), ground height z (m))."""
    lid = int(rng.choice(lanelet_ids))
    line = world.centerline(lid)[:, :2]
    k = int(rng.integers(0, len(line) - 1))
    d = line[k + 1] - line[k]
    yaw = math.atan2(d[1], d[0]) + (math.pi if rng.random() < 0.3 else 0.0) + rng.normal(0.0, yaw_sigma_rad)
    xy = line[k] + d * rng.random()
    return lid, xy, yaw, float(world.height_at(xy[None])[0])
