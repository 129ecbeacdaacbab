"""Synchronous mode, whole stack: wall time per 20 ms lock-step gate, at the bridge's sync and chassis periods.

    .venv/bin/python benchmarks/sim_sync.py [--runs N] [--seconds S] [--scenario NAME]

Each run is ``lsv sim --scenario NAME --sync`` (every node of the stack, the ECU on the
udp_multicast CAN bus, in a private network namespace) for S simulated seconds. The simulator
writes its own timing into ``run_info.txt``: the real-time factor and the wall ms per
simulated second spent waiting for the controller's command and for the bridge's drive
frames. The benchmark runs N times with the command period ``lsv sim --sync`` gives the
bridge (5 ms) and once with the chassis DBC's 20 ms, for comparison. This is what the
scenario suite's wall time is made of (``lsv suite``).

Progress goes to stderr; the last stdout line is one JSON object:
{"name": "sim_sync", "n": N, "median_ms": ..., "p95_ms": ... (wall ms per 20 ms gate over the
runs), "rtf": ..., "wait_command_ms": ..., "wait_frames_ms": ..., "period_20ms": {...}}
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GATE_S = 0.020  # the simulator's sync.control_period_ms


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_info(text: str) -> dict:
    """The real-time factor and the per-gate waits from a run_info.txt."""
    rtf = float(re.search(r"real-time factor ([0-9.]+)", text).group(1))
    parts = dict((k, float(v)) for k, v in re.findall(r"(\w+) ([0-9.]+)", text.split("wall ms per simulated s:")[1]))
    return {"rtf": rtf, "gate_ms": 1e3 * GATE_S / rtf,  # wall ms per 20 simulated ms
            "wait_command_ms": parts["wait_for_command"] * GATE_S,  # ms per simulated s x s per gate
            "wait_frames_ms": parts["wait_for_frames"] * GATE_S,
            "timeouts": int(re.search(r"sync timeouts (\d+)", text).group(1))}


def one_run(scenario: str, seconds: float, period_ms: float | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lsv-bench-sync-") as tmp:
        cmd = [sys.executable, "-m", "lsv_bringup.cli", "sim", "--scenario", scenario, "--sync",
               "--report", tmp, "--log-dir", f"{tmp}/log", f"duration_s:={seconds:g}"]
        if period_ms is not None:
            cmd.append(f"can_command_period_ms:={period_ms:g}")
        if os.environ.get("LSV_IN_NETNS") != "1":
            cmd = [str(REPO / "scripts/netns_sandbox.sh"), *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + seconds / 0.1)
        info = Path(tmp) / "run_info.txt"
        if not info.is_file():
            raise RuntimeError(f"no run_info.txt (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        return run_info(info.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs at the sync period (default 3)")
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per run (default 20)")
    ap.add_argument("--scenario", default="default", help="shipped scenario name or file (default: default)")
    args = ap.parse_args()
    if args.runs < 1 or args.seconds <= 0:
        ap.error("--runs must be >= 1 and --seconds > 0")
    runs = []
    for k in range(args.runs):
        r = one_run(args.scenario, args.seconds, None)
        log(f"run {k + 1}/{args.runs} (lsv sim --sync): real-time factor {r['rtf']:.2f}, "
            f"{r['gate_ms']:.1f} ms per gate (command {r['wait_command_ms']:.1f}, frames {r['wait_frames_ms']:.1f})")
        runs.append(r)
    slow = one_run(args.scenario, args.seconds, 20.0)
    log(f"bridge at 20 ms: real-time factor {slow['rtf']:.2f}, {slow['gate_ms']:.1f} ms per gate "
        f"(command {slow['wait_command_ms']:.1f}, frames {slow['wait_frames_ms']:.1f})")
    gates = np.array([r["gate_ms"] for r in runs])

    def med(key: str) -> float:
        return round(float(np.median([r[key] for r in runs])), 2)

    print(json.dumps({
        "name": "sim_sync", "n": len(runs), "scenario": args.scenario, "simulated_s": args.seconds,
        "median_ms": round(float(np.median(gates)), 2), "p95_ms": round(float(np.percentile(gates, 95)), 2),
        "rtf": med("rtf"), "wait_command_ms": med("wait_command_ms"), "wait_frames_ms": med("wait_frames_ms"),
        "sync_timeouts": sum(r["timeouts"] for r in runs),
        "period_20ms": {k: round(v, 2) for k, v in slow.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
