"""Control hot path: the controller's step time, the period jitter of its 50 Hz loop while another
process keeps the other core busy, and the path-tracking figures of the figure-of-eight.

- step: ``lsv_control.controller.Controller.step`` (input checks, MRM, pure pursuit, PID, command
  gate) in closed loop with the simulated chassis ECU + dynamics on the figure-of-eight at 15 km/h,
  with a 200-point trajectory window, 20 tracked objects beside the path and 8 /diagnostics entries.
  median/p95 per step in ms. The localizer's EKF cycle (predict + wheel speed + steering + gyro, and a
  GNSS fix every 5th cycle) is timed the same way (``ekf_*``).
- loop jitter: ``lsv_common.rate.FixedRateLoop`` at 20 ms running the real step for ``--seconds``
  with a busy-looping child process; jitter = |period - 20 ms|.
- tracking: true distance of the rear axle to the figure-of-eight (lemniscate, 30 m x 15 m, curvature
  up to 1/15 m^-1, crossing itself at 90 degrees) after the start, at 15 km/h and at 10.8 km/h; hill
  start on 12 %: roll-back and speed overshoot.

    .venv/bin/python benchmarks/control.py [--seconds 20]

Prints progress on stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from harness import loop_under_load

from lsv_control.controller import ControlInputs, DiagEntry, ObjectsInput, TrajectoryInput
from lsv_control.sim_plant import (
    Plant,
    figure_eight,
    heartbeats,
    make_controller,
    path_error,
    run_closed_loop,
    straight,
    window,
)
from lsv_control.trajectory import TrajectoryArrays

NS = 1_000_000_000


def fig8(speed: float, seconds: float, timed: bool) -> tuple[dict, np.ndarray]:
    loop = figure_eight(15.0, speed)
    ctrl = make_controller()
    state = {"i": 0}
    rng = np.random.default_rng(0)
    side = rng.uniform(-1.0, 1.0, (20, 2))
    times: list[float] = []

    def inputs(plant: Plant, now_ns: int) -> ControlInputs:
        idx = (np.arange(-20, 60) + state["i"]) % loop.size
        d = np.hypot(loop.x_m[idx] - plant.vs.x_m, loop.y_m[idx] - plant.vs.y_m)
        state["i"] = int(idx[np.argmin(d)])
        traj = window(loop, state["i"] - 8, 200)
        # 20 objects 6-10 m beside the path: inside the search, outside the corridor
        j = (state["i"] + np.arange(20) * 6) % loop.size
        nx, ny = -np.sin(loop.yaw_rad[j]), np.cos(loop.yaw_rad[j])
        off = 6.0 + 4.0 * np.abs(side[:, 0])
        sgn = np.sign(side[:, 1])
        xy = np.column_stack([loop.x_m[j] + off * nx * sgn, loop.y_m[j] + off * ny * sgn])
        diags = heartbeats(("localizer", "can_bridge"), now_ns)
        diags.update({f"node{k}: status": DiagEntry(f"node{k}", 0, "ok", now_ns) for k in range(6)})
        return ControlInputs(plant.odometry(), TrajectoryInput(traj, now_ns), plant.status(),
                             ObjectsInput.squares(xy, 0.8, now_ns), diags)

    if timed:
        step = ctrl.step

        def timed_step(now_ns: int, inp: ControlInputs):
            t0 = time.perf_counter_ns()
            out = step(now_ns, inp)
            times.append((time.perf_counter_ns() - t0) / 1e6)
            return out

        ctrl.step = timed_step  # type: ignore[method-assign]
    plant = Plant(yaw0=float(loop.yaw_rad[0]))
    run = run_closed_loop(ctrl, plant, seconds, inputs)
    t = np.array(run.t_s)
    steady = t > 8.0
    err = path_error(loop, np.array(run.x)[steady], np.array(run.y)[steady])
    # objects beside the path must not have triggered anything
    states = set(np.array(run.states)[steady])
    return {"speed_mps": speed, "max_lateral_error_m": float(err.max()),
            "rms_lateral_error_m": float(np.sqrt(np.mean(err**2))),
            "mean_speed_mps": float(np.mean(np.array(run.speed)[steady])), "states": sorted(states)}, np.array(times)


def fig8_localized(seconds: float) -> float:
    """Max true lateral error (m) with the localizer core in the loop: GNSS 0.3 m noise at 10 Hz, gyro bias
    0.01 rad/s, wheel speed +0.5 % and noise, steering noise, GNSS off from 30 s to 40 s."""
    from lsv_control.controller import OdometryInput
    from lsv_localization.localizer import Localizer
    from lsv_localization.params import params_from_yaml

    lp, ep = params_from_yaml()
    loop = figure_eight(15.0, 4.17)
    plant = Plant(yaw0=float(loop.yaw_rad[0]))
    loc = Localizer(lp, ep)
    loc.on_initial_pose(0, 0.0, 0.0, float(loop.yaw_rad[0]))
    rng = np.random.default_rng(0)
    state = {"i": 0}

    def inputs(pl: Plant, now: int) -> ControlInputs:
        vs = pl.vs
        loc.on_imu(now, vs.yaw_rate_rps + 0.01 + rng.normal(0, 0.005), None, 0.0)
        st = pl.status()
        loc.on_vehicle_status(now, st.speed_mps * 1.005 + rng.normal(0, 0.03),
                              st.steering_angle_rad + rng.normal(0, 0.005))
        if now % (100 * 1_000_000) == 0 and not 30 * NS <= now < 40 * NS:
            lat, lon = loc.projection.inverse_point(vs.x_m + rng.normal(0, 0.3), vs.y_m + rng.normal(0, 0.3))
            loc.on_gnss(now, lat, lon, True, np.eye(2) * 0.09)
        est = loc.estimate(now)
        idx = (np.arange(-20, 60) + state["i"]) % loop.size
        state["i"] = int(idx[np.argmin(np.hypot(loop.x_m[idx] - est.x_m, loop.y_m[idx] - est.y_m))])
        return ControlInputs(OdometryInput(est.x_m, est.y_m, est.yaw_rad, est.speed_mps, 0.0, now),
                             TrajectoryInput(window(loop, state["i"] - 8, 200), now), st,
                             ObjectsInput.none(now),
                             heartbeats(("localizer", "can_bridge"), now))

    run = run_closed_loop(make_controller(), plant, seconds, inputs)
    steady = np.array(run.t_s) > 8.0
    return float(path_error(loop, np.array(run.x)[steady], np.array(run.y)[steady]).max())


def hill(grade: float) -> dict:
    traj = straight(40.0, 3.0, stop_at_end=True)
    zero = TrajectoryArrays.from_columns(traj.x_m, traj.y_m, traj.yaw_rad, np.zeros(traj.size))

    def inputs(plant: Plant, now_ns: int) -> ControlInputs:
        tr = traj if now_ns >= 5 * NS else zero
        return ControlInputs(plant.odometry(), TrajectoryInput(tr, now_ns), plant.status(),
                             ObjectsInput.none(now_ns),
                             heartbeats(("localizer", "can_bridge"), now_ns))

    run = run_closed_loop(make_controller(), Plant(grade=grade), 30.0, inputs)
    t, x, v = np.array(run.t_s), np.array(run.x), np.array(run.speed)
    start = (t >= 5.0) & (t < 10.0)
    stopped = t > 25.0
    return {"grade": grade, "start_rollback_m": max(0.0, float(-np.minimum.accumulate(x[start]).min())),
            "max_speed_mps": float(v.max()), "hold_drift_m": float(x[stopped].max() - x[stopped].min())}


def ekf_times(n: int) -> np.ndarray:
    from lsv_localization.localizer import Localizer
    from lsv_localization.params import params_from_yaml

    lp, ep = params_from_yaml()
    loc = Localizer(lp, ep)
    loc.on_initial_pose(0, 0.0, 0.0, 0.0)
    lat, lon = loc.projection.inverse_point(1.0, 0.5)
    cov = np.eye(2) * 0.09
    times = np.empty(n)
    for i in range(n):
        now = (i + 1) * 20_000_000
        t0 = time.perf_counter_ns()
        loc.on_imu(now, 0.01, None, 0.0)
        loc.on_vehicle_status(now, 3.0, 0.02)
        if i % 5 == 0:
            loc.on_gnss(now, lat, lon, True, cov)
        loc.estimate(now)
        times[i] = (time.perf_counter_ns() - t0) / 1e6
    return times



def bench_loop(seconds: float, priority: int = 0) -> dict:
    loop8 = figure_eight(15.0, 4.17)
    ctrl = make_controller()
    plant = Plant(yaw0=float(loop8.yaw_rad[0]))
    traj = window(loop8, 0, 200)
    t_start = time.monotonic_ns()

    def step(now_ns: int) -> None:
        t = now_ns - t_start  # the loop's own clock stands in for the ROS clock here
        odo = plant.odometry()
        odo = type(odo)(odo.x_m, odo.y_m, odo.yaw_rad, odo.speed_mps, odo.grade, t)
        st = plant.status()
        st = type(st)(st.speed_mps, st.steering_angle_rad, st.mode, st.fault_bits, st.stale, t)
        ctrl.step(t, ControlInputs(odo, TrajectoryInput(traj, t), st, ObjectsInput.none(t),
                                   heartbeats(("localizer", "can_bridge"), t)))

    return loop_under_load(step, 0.020, seconds, priority, name="bench-control-loop")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the loop jitter measurement")
    ap.add_argument("--realtime-priority", type=int, default=50,
                    help="SCHED_FIFO priority for the second loop measurement (the node's realtime_priority)")
    ap.add_argument("--fig8-seconds", type=float, default=80.0, help="simulated time on the figure-of-eight")
    args = ap.parse_args()
    print(f"[control] figure-of-eight at 15 km/h for {args.fig8_seconds:g} s (timed steps) ...", file=sys.stderr)
    fast, times = fig8(4.17, args.fig8_seconds, timed=True)
    print(f"[control] {fast}", file=sys.stderr)
    slow, _ = fig8(3.0, args.fig8_seconds, timed=False)
    print(f"[control] {slow}", file=sys.stderr)
    localized = fig8_localized(args.fig8_seconds)
    print(f"[control] figure-of-eight with the localizer in the loop: max {localized:.3f} m", file=sys.stderr)
    hills = [hill(0.12), hill(0.15)]
    for h in hills:
        print(f"[control] hill {h}", file=sys.stderr)
    ekf = ekf_times(3000)
    print(f"[control] ekf cycle median {np.median(ekf):.3f} ms, p95 {np.percentile(ekf, 95):.3f} ms", file=sys.stderr)
    print(f"[control] 50 Hz loop for {args.seconds:g} s with the other core busy ...", file=sys.stderr)
    loop = bench_loop(args.seconds)
    print(f"[control] loop, normal scheduling: {loop}", file=sys.stderr)
    loop_rt = bench_loop(args.seconds, args.realtime_priority)
    print(f"[control] loop, SCHED_FIFO {args.realtime_priority}: {loop_rt}", file=sys.stderr)
    out = {
        "name": "control",
        "n": int(times.size),
        "median_ms": round(float(np.median(times)), 4),
        "p95_ms": round(float(np.percentile(times, 95)), 4),
        "loop_period_ms": 20.0,
        "loop_cycles": loop["cycles"],
        "loop_overruns": loop["overruns"],
        "loop_skipped": loop["skipped"],
        "loop_jitter_p50_ms": round(loop["jitter_p50_ms"], 4),
        "loop_jitter_p99_ms": round(loop["jitter_p99_ms"], 4),
        "loop_jitter_max_ms": round(loop["jitter_max_ms"], 4),
        "loop_rt_realtime": loop_rt["realtime"],
        "loop_rt_overruns": loop_rt["overruns"],
        "loop_rt_jitter_p50_ms": round(loop_rt["jitter_p50_ms"], 4),
        "loop_rt_jitter_p99_ms": round(loop_rt["jitter_p99_ms"], 4),
        "loop_rt_jitter_max_ms": round(loop_rt["jitter_max_ms"], 4),
        "fig8_speed_mps": fast["speed_mps"],
        "fig8_max_lateral_error_m": round(fast["max_lateral_error_m"], 3),
        "fig8_rms_lateral_error_m": round(fast["rms_lateral_error_m"], 3),
        "fig8_3mps_max_lateral_error_m": round(slow["max_lateral_error_m"], 3),
        "fig8_localized_max_lateral_error_m": round(localized, 3),
        "hill_12pct_start_rollback_m": round(hills[0]["start_rollback_m"], 4),
        "hill_12pct_max_speed_mps": round(hills[0]["max_speed_mps"], 3),
        "hill_12pct_hold_drift_m": round(hills[0]["hold_drift_m"], 4),
        "hill_15pct_start_rollback_m": round(hills[1]["start_rollback_m"], 4),
        "ekf_median_ms": round(float(np.median(ekf)), 4),
        "ekf_p95_ms": round(float(np.percentile(ekf, 95)), 4),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
