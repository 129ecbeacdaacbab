"""Traffic-light classifier hot path: one 640 x 480 camera frame -> the states of the heads in view
(``lsv_perception.traffic_light.classify`` as the ``traffic_light_classifier`` node calls it: the
district map's 8 heads culled by range and facing, the lamps of the visible one projected, colour
masks over its region, the checks).

Frames: rendered by the simulator's camera on the approach to intersection 101 (50 m, 35 m and 25 m
from the head; red, yellow and green), cycled. ``--warmup`` calls, then ``--frames`` timed calls;
median / p95 / max wall time in ms, ``cpu_*`` the process CPU time per call; ``read_rate``: the
share of calls that read the rendered colour (the classifier's recall on these frames).

    .venv/bin/python benchmarks/perception_traffic_light.py [--frames 600] [--warmup 30]

Prints progress on stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from lsv_perception.fusion.projection import Calibration, CameraMountParams
from lsv_perception.traffic_light import LightClassifierParams, classify, load_light_heads


def render_frames() -> list[tuple[np.ndarray, np.ndarray, str]]:
    from lsv_sim.sensors import Extrinsics, pose_matrix
    from lsv_sim.sensors.camera import Camera, CameraParams
    from lsv_sim.world import load_world

    world = load_world()
    camera = Camera(CameraParams(), world.static_mesh(), world.traffic_lights)
    frames = []
    for x in (-40.0, -25.0, -14.5):
        z = float(world.height_at(np.array([[x, -1.75]]))[0])
        base = pose_matrix(x, -1.75, z, yaw=0.0)
        for colour in ("red", "yellow", "green"):
            lit = {t.id: colour for t in world.traffic_lights}
            rgb = camera.render(base @ Extrinsics().matrix("camera"), signals=lit,
                                rng=np.random.default_rng(len(frames))).rgb
            frames.append((rgb, base, colour))
    return frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()
    print("rendering 9 frames ...", file=sys.stderr)
    frames = render_frames()
    heads = load_light_heads("package://lsv_sim/maps/district.osm", 30.2741, 120.1551, 0.0)
    k = np.array([[320.0, 0.0, 319.5], [0.0, 320.0, 239.5], [0.0, 0.0, 1.0]])
    calib = Calibration(k, 640, 480, CameraMountParams().t_base_camera())
    p = LightClassifierParams()
    for i in range(args.warmup):
        rgb, base, _ = frames[i % len(frames)]
        classify(rgb, heads, calib, base, p)
    times, cpu, read = [], [], 0
    for i in range(args.frames):
        rgb, base, colour = frames[i % len(frames)]
        c0 = time.process_time()
        t0 = time.perf_counter()
        obs = classify(rgb, heads, calib, base, p)
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        read += any(o.colour == colour for o in obs)
        if i % 200 == 199:
            print(f"{i + 1}/{args.frames}", file=sys.stderr)
    t, c = np.asarray(times), np.asarray(cpu)
    print(json.dumps({"name": "perception_traffic_light", "n": len(t), "median_ms": round(float(np.median(t)), 3),
                      "p95_ms": round(float(np.percentile(t, 95)), 3), "max_ms": round(float(t.max()), 3),
                      "cpu_median_ms": round(float(np.median(c)), 3),
                      "cpu_p95_ms": round(float(np.percentile(c, 95)), 3),
                      "heads_in_map": len(heads), "image": "640x480", "read_rate": round(read / len(t), 3)}))


if __name__ == "__main__":
    main()
