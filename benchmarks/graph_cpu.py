"""The whole graph's CPU in a scenario run: each node's share of one core and of the graph, the launcher's, the total.

    .venv/bin/python benchmarks/graph_cpu.py [--seconds S] [--runs N] [--scenario NAME] [--sync]
                                             [--topic-stats] [--keep DIR]

Each run is ``scripts/netns_sandbox.sh .venv/bin/lsv sim --report TMP duration_s:=S`` (real time
unless --sync; every node of the stack with its own perception: the simulator renders lidar and
camera, the detectors and the tracker feed the planner) for S simulated seconds (default 40), with
``--duration`` only as a wall-clock safety bound. The figures are the launcher's report.json
(``## CPU`` of report.md): each node process's CPU time (user + system, all threads) over its
life, start-up (imports, model loading) and shutdown included, divided by its wall time alive
(share of one core) and by the total (share of the graph; total = every node + the launcher,
whose share is that of the process running ``lsv``, graph monitor included). The real-time factor
and the simulated seconds come from the simulator's run_info.txt; which perception ran from
summary.json. The machine's other load counts against the real-time factor, not in the shares.

median_ms / p95_ms: the whole graph's CPU ms (every node + the launcher) per 20 ms control cycle of
simulated time, median and p95 over the N runs (N = 1 by default: both are that run's figure). On
2 cores a real-time run has at most 40 ms of CPU per cycle.

Progress and the per-node table go to stderr; the last stdout line is one JSON object:
{"name": "graph_cpu", "n": N, "median_ms": ..., "p95_ms": ..., "mode": "realtime"|"sync", "rtf": ...,
 "total_cores": ..., "launcher": {...}, "nodes": {"/simulator": {"cpu_s", "core_share", "graph_share"}, ...}}
(per-node and other figures: medians over the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
CYCLE_S = 0.020  # s, the controller's period: the unit of median_ms / p95_ms
WALL_BOUND_S = 120.0  # s of start-up and shutdown allowed on top of the simulated time at RTF 0.2


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def perception_args(launch_file: Path) -> list[str]:
    """The launch arguments that turn the stack's own perception on, whichever sim.launch.yaml declares
    (an ``oracle`` switch or a ``perception`` one): what the benchmark measures."""
    declared = {item["arg"]["name"] for item in yaml.safe_load(launch_file.read_text())["launch"] if "arg" in item}
    if "perception" in declared:
        return ["perception:=true"]
    if "oracle" in declared:
        return ["oracle:=false"]
    return []


def run_info(text: str) -> dict:
    """Real-time factor and simulated seconds from the simulator's run_info.txt."""
    return {"rtf": float(re.search(r"real-time factor ([0-9.]+)", text).group(1)),
            "simulated_s": float(re.search(r"simulated ([0-9.]+) s", text).group(1))}


def one_run(args: argparse.Namespace, keep: Path | None) -> dict:
    lsv = Path(sys.executable).parent / "lsv"
    launcher = [str(lsv)] if lsv.is_file() else [sys.executable, "-m", "lsv_bringup.cli"]
    with tempfile.TemporaryDirectory(prefix="lsv-bench-cpu-") as tmp:
        wall_bound = WALL_BOUND_S + args.seconds / 0.2
        cmd = [*launcher, "sim", "--scenario", args.scenario, "--report", tmp, "--log-dir", f"{tmp}/log",
               "--duration", f"{wall_bound:g}", f"duration_s:={args.seconds:g}",
               *perception_args(REPO / "launch" / "sim.launch.yaml")]
        cmd += ["--sync"] if args.sync else []
        cmd += ["--topic-stats"] if args.topic_stats else []
        if os.environ.get("LSV_IN_NETNS") != "1":
            cmd = [str(REPO / "scripts/netns_sandbox.sh"), *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_bound + 60, cwd=REPO)
        folder = Path(tmp)
        if keep is not None:
            shutil.copytree(folder, keep, dirs_exist_ok=True)
        if not (folder / "report.json").is_file() or not (folder / "run_info.txt").is_file():
            raise RuntimeError(f"no report.json or run_info.txt (exit {out.returncode}):\n"
                               f"{out.stdout[-2000:]}{out.stderr[-2000:]}")
        report = json.loads((folder / "report.json").read_text())
        summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").is_file() else {}
        info = run_info((folder / "run_info.txt").read_text())
    cpu = report["cpu"]
    return {**info, "perception": summary.get("perception", "unknown"), "passed": summary.get("passed"),
            "exit_status": report["exit_status"], "failed": [n["node"] for n in report["nodes"] if n["failed"]],
            "cpu": cpu, "cycle_ms": 1e3 * cpu["total"]["cpu_s"] * CYCLE_S / info["simulated_s"]}


def _pct(share: float | None) -> str:
    return "    -" if share is None else f"{100 * share:4.0f} %"


def print_table(r: dict) -> None:
    cpu = r["cpu"]
    log(f"{'node':28s} {'CPU s':>7s} {'of one core':>11s} {'of graph':>9s}")
    for name, c in [*cpu["nodes"].items(), ("launcher (lsv)", cpu["launcher"])]:
        log(f"{name:28s} {c['cpu_s']:7.2f} {_pct(c['core_share']):>11s} {_pct(c['graph_share']):>9s}")
    t = cpu["total"]
    log(f"{'total':28s} {t['cpu_s']:7.2f} {t['core_share']:8.2f} cores over {t['wall_s']:.1f} s")


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.median(values)), 3) if values else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=40.0, help="simulated seconds per run (default 40)")
    ap.add_argument("--runs", type=int, default=1, help="runs (default 1)")
    ap.add_argument("--scenario", default="default", help="shipped scenario name or file (default: default)")
    ap.add_argument("--sync", action="store_true", help="synchronous mode (lsv sim --sync) instead of real time")
    ap.add_argument("--topic-stats", action="store_true",
                    help="the launcher counts images and point clouds too (lsv sim --topic-stats)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="copy the last run's report folder here")
    args = ap.parse_args()
    if args.runs < 1 or args.seconds <= 0:
        ap.error("--runs must be >= 1 and --seconds > 0")
    runs = []
    for k in range(args.runs):
        r = one_run(args, args.keep if k == args.runs - 1 else None)
        log(f"run {k + 1}/{args.runs} ({'sync' if args.sync else 'real time'}, perception {r['perception']}): "
            f"{r['simulated_s']:.1f} simulated s, real-time factor {r['rtf']:.2f}, exit status {r['exit_status']}"
            + (f", failed nodes {r['failed']}" if r["failed"] else "")
            + f", {r['cycle_ms']:.1f} CPU ms per 20 ms cycle")
        print_table(r)
        runs.append(r)
    cycles = np.array([r["cycle_ms"] for r in runs])
    names = list(runs[-1]["cpu"]["nodes"])

    def node_medians(pick) -> dict:
        return {key: median([pick(r).get(key) for r in runs]) for key in ("cpu_s", "core_share", "graph_share")}

    print(json.dumps({
        "name": "graph_cpu", "n": len(runs), "scenario": args.scenario, "mode": "sync" if args.sync else "realtime",
        "topic_stats": args.topic_stats, "perception": runs[-1]["perception"], "simulated_s": args.seconds,
        "median_ms": round(float(np.median(cycles)), 2), "p95_ms": round(float(np.percentile(cycles, 95)), 2),
        "rtf": median([r["rtf"] for r in runs]),
        "total_cores": median([r["cpu"]["total"]["core_share"] for r in runs]),
        "total_cpu_s": median([r["cpu"]["total"]["cpu_s"] for r in runs]),
        "launcher": node_medians(lambda r: r["cpu"]["launcher"]),
        "nodes": {name: node_medians(lambda r, n=name: r["cpu"]["nodes"].get(n, {})) for name in names},
        "failed_nodes": sorted({n for r in runs for n in r["failed"]}),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
