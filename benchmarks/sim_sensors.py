"""Simulator sensor rendering time per frame: lidar scan (32 x 1800 rays, 100 m) and camera frame
(640 x 480, adaptive ray casting + shading) in the district, from the ego vehicle driving the
patrol loop with cars and pedestrians around it. Also the camera's rays per pixel (all grids) and
the share of pixels it casts at full resolution.

- lidar: ``Lidar.scan`` (rays, static + actor scenes, noise, dropout, POINT_XYZIR);
- camera: ``Camera.render`` (ray casting, shading, lit lamps, noise);
- frame: lidar + camera of one 100 ms simulator step (``median_ms`` / ``p95_ms``).

    .venv/bin/python benchmarks/sim_sensors.py [--frames 100] [--actors 12]

Prints progress on stderr and one JSON object as the last line of stdout. ``run()`` is importable
(``benchmarks/sim.py`` may reuse it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from lsv_sim.sensors import Actor, Extrinsics, pose_matrix
from lsv_sim.sensors.camera import Camera, CameraParams
from lsv_sim.sensors.lidar import Lidar, LidarParams, RayCaster
from lsv_sim.world import ObjectClass, World, load_world


def patrol_poses(world: World, n: int, spacing_m: float = 2.0) -> list[tuple[float, float, float, float]]:
    """(x, y, z, yaw) every ``spacing_m`` along the patrol loop, ``n`` of them."""
    pts = np.concatenate([world.centerline(lid) for lid in world.patrol_loop])
    seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
    s = np.r_[0.0, np.cumsum(seg)]
    out = []
    for k in range(n):
        sk = (k * spacing_m) % s[-1]
        i = min(int(np.searchsorted(s, sk, side="right")) - 1, len(seg) - 1)
        d = pts[i + 1] - pts[i]
        xy = pts[i, :2] + d[:2] * (sk - s[i]) / max(seg[i], 1e-9)
        out.append((float(xy[0]), float(xy[1]), float(world.height_at(xy[None])[0]), math.atan2(d[1], d[0])))
    return out


def actors_around(world: World, pose: tuple[float, float, float, float], count: int) -> list[Actor]:
    """Cars on the road ahead/behind and pedestrians on the sidewalks, near ``pose``."""
    x, y, _, yaw = pose
    fwd, left = np.array([math.cos(yaw), math.sin(yaw)]), np.array([-math.sin(yaw), math.cos(yaw)])
    actors = []
    for i in range(count):
        along = -30.0 + 60.0 * (i + 0.5) / count
        if i % 3 == 2:
            cls, size, lateral = ObjectClass.PEDESTRIAN, (0.5, 0.5, 1.75), 6.0 if i % 2 else -6.0
        else:
            cls, size, lateral = ObjectClass.CAR, (4.5, 1.8, 1.5), -3.5 if i % 2 else 0.0
        if abs(along) < 4.0 and lateral == 0.0:
            along += 8.0
        xy = np.array([x, y]) + fwd * along + left * lateral
        z = float(world.height_at(xy[None])[0])
        actors.append(Actor(i + 1, cls, (float(xy[0]), float(xy[1]), z, yaw), size))
    return actors


def run(frames: int = 100, n_actors: int = 12, progress: bool = True) -> dict:
    world = load_world()
    caster = RayCaster.for_world(world)
    lidar = Lidar(LidarParams(), caster=caster)
    camera = Camera(CameraParams(), caster=caster, traffic_lights=world.traffic_lights)
    ext = Extrinsics()
    t_lidar, t_camera, points, exact, rays = [], [], [], [], []
    rng = np.random.default_rng(0)
    signals = {tl.id: ("red", "green")[tl.phase_id % 2] for tl in world.traffic_lights}
    poses = patrol_poses(world, frames + 3)
    for k, pose in enumerate(poses):
        base = pose_matrix(pose[0], pose[1], pose[2], yaw=pose[3])
        actors = actors_around(world, pose, n_actors)
        t0 = time.perf_counter()
        scan = lidar.scan(base @ ext.matrix("lidar"), actors, rng)
        t1 = time.perf_counter()
        camera.render(base @ ext.matrix("camera"), actors, 10.0 + 0.05 * k, rng, signals)
        t2 = time.perf_counter()
        if k < 3:  # warm-up
            continue
        t_lidar.append(1e3 * (t1 - t0))
        t_camera.append(1e3 * (t2 - t1))
        points.append(len(scan.points))
        exact.append(camera.last_exact_fraction)
        rays.append(camera.last_ray_fraction)
        if progress and (k - 2) % 20 == 0:
            print(f"frame {k - 2}/{frames}: lidar {t_lidar[-1]:.1f} ms ({points[-1]} points), "
                  f"camera {t_camera[-1]:.1f} ms", file=sys.stderr)
    total = np.array(t_lidar) + np.array(t_camera)
    _, tris, _ = world.static_mesh()
    return {
        "name": "sim_sensors", "n": len(total),
        "median_ms": round(float(np.median(total)), 2), "p95_ms": round(float(np.percentile(total, 95)), 2),
        "lidar_median_ms": round(float(np.median(t_lidar)), 2),
        "lidar_p95_ms": round(float(np.percentile(t_lidar, 95)), 2),
        "camera_median_ms": round(float(np.median(t_camera)), 2),
        "camera_p95_ms": round(float(np.percentile(t_camera, 95)), 2),
        "points_per_scan": int(np.median(points)), "rays_per_scan": len(lidar.directions),
        "camera_exact_ray_fraction": round(float(np.median(exact)), 3),
        "camera_ray_fraction": round(float(np.median(rays)), 3), "actors": n_actors,
        "static_triangles": len(tris),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--actors", type=int, default=12)
    args = parser.parse_args()
    print(json.dumps(run(args.frames, args.actors)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
