"""Simulator speed: real-time factor alone and with the whole stack; lidar and camera time per frame.

    .venv/bin/python benchmarks/sim.py [--seconds S] [--frames N] [--no-stack]

1. core: the pure simulator (dynamics, chassis ECU, actors, lights, ground-truth trace) on the
   default (district) scenario and on the synthetic crossing: simulated s per wall s.
2. sensors: lidar (32 x 1800 rays) and camera (640 x 480) rendering per frame from the ego's
   pose in the default scenario with its actors (median, p95 ms), and the real-time factor of
   core + sensors at their default rates (lidar 10 Hz, camera 10 Hz, GNSS 10 Hz, IMU 100 Hz).
3. stack: the simulator node in real time (as fast as it can: realtime_factor 0) with the
   stack's nodes (can_bridge, v2x_client) in a private network namespace, the ECU on the
   udp_multicast CAN bus, V2X over UDP; the factor is what the node measured itself.

Progress goes to stderr; the last stdout line is one JSON object:
{"name": "sim", "core_rtf": {...}, "sensors_rtf": ..., "lidar_ms": {"median": .., "p95": ..},
 "camera_ms": {...}, "stack_rtf": ..., "stack_rtf_no_camera": ... (null without a private network namespace)}
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def core_rtf(name: str, seconds: float) -> float:
    from lsv_can_bridge.chassis_config import load_chassis_config
    from lsv_sim.core import Simulator
    from lsv_sim.scenario import load_scenario

    sim = Simulator(load_scenario(name), load_chassis_config("dbc/lsv_chassis.yaml"))
    steps = round(seconds / sim.dt)
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.step()
        sim.status_frames()
    return steps * sim.dt / (time.perf_counter() - t0)


def sensors(frames: int, seconds: float) -> dict:
    from lsv_can_bridge.chassis_config import load_chassis_config
    from lsv_sim import sensors as sn
    from lsv_sim.core import Simulator
    from lsv_sim.scenario import height, load_scenario
    from lsv_sim.sensors import gnss_imu
    from lsv_sim.sensors.camera import Camera
    from lsv_sim.sensors.lidar import Lidar
    from lsv_sim.world import ObjectClass

    classes = {"pedestrian": ObjectClass.PEDESTRIAN, "cyclist": ObjectClass.CYCLIST, "car": ObjectClass.CAR,
               "parked_car": ObjectClass.CAR, "emergency_vehicle": ObjectClass.EMERGENCY_VEHICLE}
    sim = Simulator(load_scenario("default"), load_chassis_config("dbc/lsv_chassis.yaml"))
    mesh = sim.world.static_mesh()
    lidar = Lidar(None, mesh)
    camera = Camera(None, None, sim.world.traffic_lights, caster=lidar.caster)
    ext = sn.Extrinsics()
    rng = np.random.default_rng(0)

    def base():
        vs = sim.ego
        return sn.pose_matrix(vs.x_m, vs.y_m, height(sim.world, vs.x_m, vs.y_m), 0.0, 0.0, vs.yaw_rad)

    def actors():
        return [sn.Actor(k + 1, int(classes[a.type.value]), (a.x_m, a.y_m, a.z_m, a.yaw_rad),
                         (a.length_m, a.width_m, a.height_m)) for k, a in enumerate(sim.ground_truth().actors)]

    for _ in range(2000):  # 20 s in: the cross traffic is near the junction
        sim.step()
    lid, cam = [], []
    for _ in range(frames):
        acts = actors()
        t0 = time.perf_counter()
        lidar.scan(base() @ ext.matrix("lidar"), acts, rng)
        lid.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        camera.render(base() @ ext.matrix("camera"), acts, None, rng)
        cam.append((time.perf_counter() - t0) * 1e3)
    gp, ip = gnss_imu.GnssParams(), gnss_imu.ImuParams()
    steps = round(seconds / sim.dt)
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        sim.step()
        if k % 10 == 0:
            acts = actors()
            lidar.scan(base() @ ext.matrix("lidar"), acts, rng)
            camera.render(base() @ ext.matrix("camera"), acts, None, rng)
            gnss_imu.gnss_measure(gp, (base() @ ext.matrix("gnss"))[:3, 3], sim.world.to_geodetic, [], rng)
        vs = sim.ego
        gnss_imu.imu_measure(ip, gnss_imu.vehicle_imu_truth(vs.yaw_rad, vs.speed_mps, vs.accel_mps2,
                                                            vs.yaw_rate_rps, 0.0), rng)
    rtf = steps * sim.dt / (time.perf_counter() - t0)

    def stats(v: list[float]) -> dict:
        return {"median": round(float(np.median(v)), 1), "p95": round(float(np.percentile(v, 95)), 1)}

    return {"lidar_ms": stats(lid), "camera_ms": stats(cam), "sensors_rtf": round(rtf, 2)}


LAUNCH = """
launch:
- include:
    file: {stack}
    arg:
    - {{name: use_sim_time, value: "true"}}
    - {{name: can_interface, value: udp_multicast}}
    - {{name: can_channel, value: "{group}"}}
- node:
    pkg: lsv_sim
    exec: simulator
    name: simulator
    param:
    - from: {params}
    - {{name: scenario, value: default}}
    - {{name: realtime_factor, value: "{factor}"}}
    - {{name: duration_s, value: "{seconds}"}}
    - {{name: report_dir, value: {report}}}
    - {{name: bus.channel, value: "{group}"}}
    - {{name: sensors.camera, value: "{camera}"}}
    remap:
    - {{from: ~/input/command, to: /vehicle/command}}
"""


def stack_rtf(seconds: float, factor: float, camera: bool = True) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        launch = Path(tmp) / "sim_bench.launch.yaml"
        report = Path(tmp) / "report"
        launch.write_text(LAUNCH.format(stack=REPO / "launch/stack.launch.yaml", group="239.74.165.7",
                                        params=REPO / "src/sim/config/simulator.param.yaml", factor=factor,
                                        seconds=seconds, report=report, camera=str(camera).lower()))
        cmd = [str(REPO / ".venv/bin/lsv"), "launch", str(launch), "--duration", str(seconds / max(factor, 0.3) + 40),
               "--log-dir", str(Path(tmp) / "log")]
        if os.environ.get("LSV_IN_NETNS") != "1":
            cmd = [str(REPO / "scripts/netns_sandbox.sh"), *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds / max(factor, 0.3) + 120)
        if "no private network namespace" in out.stderr:
            log("stack: no private network namespace here (the udp_multicast bus must not leave the machine)")
            return None
        info = report / "run_info.txt"
        if not info.exists():
            log(f"stack: the simulator wrote no report\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
            return None
        line = next(x for x in info.read_text().splitlines() if x.startswith("real-time factor"))
        return float(line.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per measurement")
    ap.add_argument("--frames", type=int, default=20, help="lidar and camera frames to time")
    ap.add_argument("--no-stack", action="store_true", help="skip the whole-stack measurement")
    a = ap.parse_args()
    result: dict = {"name": "sim", "core_rtf": {}}
    for name in ("default", "crossing_synthetic"):
        result["core_rtf"][name] = round(core_rtf(name, a.seconds), 1)
        log(f"core alone, {name}: real-time factor {result['core_rtf'][name]}")
    try:
        result.update(sensors(a.frames, min(a.seconds, 10.0)))
        log(f"lidar {result['lidar_ms']} ms, camera {result['camera_ms']} ms per frame; "
            f"core + sensors real-time factor {result['sensors_rtf']}")
    except ImportError as err:
        log(f"sensors not available: {err}")
    result["stack_rtf"] = result["stack_rtf_no_camera"] = None
    if not a.no_stack:
        result["stack_rtf"] = stack_rtf(a.seconds, 0.0)
        log(f"simulator node with the stack (as fast as it goes): real-time factor {result['stack_rtf']}")
        result["stack_rtf_no_camera"] = stack_rtf(a.seconds, 0.0, camera=False)
        log(f"... without the camera: real-time factor {result['stack_rtf_no_camera']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
