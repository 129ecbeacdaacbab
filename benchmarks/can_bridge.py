"""CAN bridge hot path: frame encode + decode rate for the command and status set of both
chassis, and the period jitter of the 20 ms command loop while another process keeps the
other core busy.

- encode/decode: one "set" = the bridge's command frames of one period (clamp + build with
  counters and checksums) + parsing one full set of status frames (length, checksum,
  counter, decode, fields). median/p95 are per set, in ms.
- loop jitter: ``lsv_common.rate.FixedRateLoop`` at 20 ms running the bridge's real send step
  (watchdog select, build frames, send on a python-can ``virtual`` bus) for ``--seconds``,
  with a busy-looping child process; jitter = |period - 20 ms|. Measured twice: normal
  scheduling (``loop_*``) and with the loop thread under SCHED_FIFO (``loop_rt_*``, the
  bridge's ``realtime_priority`` parameter; ``loop_rt_realtime`` false if it was refused).

    .venv/bin/python benchmarks/can_bridge.py [--sets 3000] [--seconds 20]

Prints progress on stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import can
import numpy as np
from harness import loop_under_load

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import load_chassis_config
from lsv_can_bridge.controller import CommandWatchdog
from lsv_can_bridge.params import Limits
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import GEAR_DRIVE, Command, Status

CHASSIS = ("dbc/lsv_chassis.yaml", "dbc/lsv_chassis_b.yaml")
LIMITS = Limits(0.55, 0.6, 1.5, 4.0, 4.17)
CMD = Command(acceleration_mps2=0.8, speed_limit_mps=4.0, steering_angle_rad=0.1, steering_rate_rps=0.4,
              gear=GEAR_DRIVE, enable=True, lights=5, work_tool=1)
STATUS = Status(speed_mps=3.1, wheel_speeds_mps=(3.1, 3.2, 3.0, 3.1), steering_angle_rad=0.1, gear=GEAR_DRIVE,
                mode=1, state_of_charge_pct=77.0, battery_voltage_v=72.0)


def bench_codec(path: str, sets: int) -> dict:
    config = load_chassis_config(path)
    wd = CommandWatchdog(100_000_000, 3.0, 3.0)
    parser = StatusParser(config)
    tx_counters: dict[int, int] = {}
    rx_counters: dict[int, int] = {}
    # pre-build status frame sets (with advancing counters) so only parsing is timed on that side
    status_sets = [frames.build_status_frames(config, STATUS, rx_counters) for _ in range(16)]
    n_frames = len(config.commands) + len(status_sets[0])
    times = np.empty(sets)
    for i in range(sets):
        now = i * 20_000_000
        t0 = time.perf_counter_ns()
        wd.on_command(now, CMD)
        cmd, _ = wd.select(now, LIMITS, 3.1, True)
        frames.build_command_frames(config, cmd, tx_counters)
        for frame_id, data in status_sets[i % 16]:
            parser.update(now, frame_id, data)
        parser.state(now)
        times[i] = (time.perf_counter_ns() - t0) / 1e6
    assert parser.receiver.dropped() == 0
    return {"chassis": os.path.basename(path), "frames_per_set": n_frames, "median_ms": float(np.median(times)),
            "p95_ms": float(np.percentile(times, 95)),
            "frames_per_s": n_frames / (float(np.mean(times)) / 1000.0), "times": times}



def bench_loop(seconds: float, priority: int = 0) -> dict:
    config = load_chassis_config(CHASSIS[0])
    bus = can.Bus(interface="virtual", channel="bench_can_bridge")
    sink = can.Bus(interface="virtual", channel="bench_can_bridge")  # a receiver, as the chassis would be
    wd = CommandWatchdog(100_000_000, 3.0, 3.0)
    counters: dict[int, int] = {}

    def step(now_ns: int) -> None:
        wd.on_command(now_ns, CMD)
        cmd, _ = wd.select(now_ns, LIMITS, 3.0, True)
        for frame_id, data in frames.build_command_frames(config, cmd, counters):
            bus.send(can.Message(arbitration_id=frame_id, data=data, is_extended_id=False))
        while sink.recv(0) is not None:
            pass

    try:
        return loop_under_load(step, 0.020, seconds, priority, name="bench-can-loop")
    finally:
        bus.shutdown()
        sink.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", type=int, default=3000, help="command+status sets per chassis")
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of each loop jitter measurement")
    ap.add_argument("--realtime-priority", type=int, default=50,
                    help="SCHED_FIFO priority for the second loop measurement (the bridge's realtime_priority)")
    args = ap.parse_args()
    results = []
    for path in CHASSIS:
        r = bench_codec(path, args.sets)
        print(f"[can_bridge] {r['chassis']}: {r['frames_per_set']} frames/set, median {r['median_ms']:.3f} ms, "
              f"p95 {r['p95_ms']:.3f} ms, {r['frames_per_s']:.0f} frames/s", file=sys.stderr)
        results.append(r)
    print(f"[can_bridge] 20 ms loop for {args.seconds:g} s with the other core busy ...", file=sys.stderr)
    loop = bench_loop(args.seconds)
    print(f"[can_bridge] loop, normal scheduling: {loop}", file=sys.stderr)
    loop_rt = bench_loop(args.seconds, args.realtime_priority)
    print(f"[can_bridge] loop, SCHED_FIFO {args.realtime_priority}: {loop_rt}", file=sys.stderr)
    all_times = np.concatenate([r["times"] for r in results])
    out = {
        "name": "can_bridge",
        "n": int(all_times.size),
        "median_ms": round(float(np.median(all_times)), 4),
        "p95_ms": round(float(np.percentile(all_times, 95)), 4),
        "encode_decode_per_s": round(sum(r["frames_per_s"] for r in results) / len(results), 1),
        "per_chassis": {r["chassis"]: {"frames_per_set": r["frames_per_set"], "median_ms": round(r["median_ms"], 4),
                                       "p95_ms": round(r["p95_ms"], 4), "frames_per_s": round(r["frames_per_s"], 1)}
                        for r in results},
        "loop_period_ms": 20.0,
        "loop_cycles": loop["cycles"],
        "loop_overruns": loop["overruns"],
        "loop_skipped": loop["skipped"],
        "loop_jitter_p50_ms": round(loop["jitter_p50_ms"], 4),
        "loop_jitter_p99_ms": round(loop["jitter_p99_ms"], 4),
        "loop_jitter_max_ms": round(loop["jitter_max_ms"], 4),
        "loop_rt_realtime": loop_rt["realtime"],
        "loop_rt_priority": args.realtime_priority,
        "loop_rt_overruns": loop_rt["overruns"],
        "loop_rt_jitter_p50_ms": round(loop_rt["jitter_p50_ms"], 4),
        "loop_rt_jitter_p99_ms": round(loop_rt["jitter_p99_ms"], 4),
        "loop_rt_jitter_max_ms": round(loop_rt["jitter_max_ms"], 4),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
