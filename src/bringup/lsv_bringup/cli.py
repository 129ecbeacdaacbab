"""``lsv``: the stack's command line (what ``ros2 launch`` and friends do on a full ROS 2).

    lsv launch FILE [name:=value ...] [--duration S] [--log-dir DIR] [--report DIR]
    lsv sim [--scenario FILE|NAME] [--sync] [--report DIR] [--duration S] [name:=value ...]
    lsv doctor
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from lsv_bringup.launch_file import LaunchFileError, LaunchLoader, parse_launch_args
from lsv_bringup.packages import workspace_root
from lsv_common import middleware

EXIT_USAGE = 2
EXIT_SCENARIO_FAILED = 3


def _default_log_dir() -> Path:
    base = Path(os.environ.get("LSV_LOG_DIR", "log"))
    return base / time.strftime("%Y%m%d-%H%M%S")


def _launch(file: Path, items: list[str], duration: float | None, log_dir: Path | None,
            report: Path | None, quiet: bool = False) -> int:
    middleware.apply_defaults()
    try:
        plan = LaunchLoader().load(file, parse_launch_args(items))
    except LaunchFileError as err:
        print(f"lsv launch: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    from lsv_bringup.supervisor import Supervisor  # imported late: `lsv doctor` must work without it

    log_dir = log_dir or _default_log_dir()
    supervisor = Supervisor(plan, log_dir)
    latest = log_dir.parent / "latest"
    try:
        if latest.is_symlink() or not latest.exists():
            latest.unlink(missing_ok=True)
            latest.symlink_to(log_dir.name)
    except OSError:
        pass
    supervisor.say(f"launching {file} with {len(plan.nodes)} node(s); logs in {log_dir}"
                   + ("" if duration is None else f"; stopping after {duration:g} s") + "; Ctrl-C stops")
    if not plan.nodes:
        supervisor.say("the launch file starts no nodes")
    monitor = None
    if report is not None:
        from lsv_bringup.graph_monitor import GraphMonitor

        monitor = GraphMonitor()
    t0 = time.monotonic()
    status = supervisor.run(duration)
    elapsed = time.monotonic() - t0
    if monitor is not None:
        snapshot = monitor.snapshot()
        monitor.close()
        from lsv_bringup.report import write_report

        json_path, md_path = write_report(report, file, elapsed, status, supervisor.summary(), snapshot,
                                          supervisor.shutdown_s)
        supervisor.say(f"report written: {md_path} and {json_path.name}")
    supervisor.say(f"stopped (exit status {status})")
    return status


def _sim(ns: argparse.Namespace) -> int:
    """``lsv sim``: launch/sim.launch.yaml with the scenario, mode and report folder."""
    scenario = Path(ns.scenario)
    report = ns.report.resolve()
    items = [f"scenario:={scenario.resolve() if scenario.exists() else ns.scenario}",
             f"sim_mode:={'sync' if ns.sync else 'realtime'}", f"report_dir:={report}", *ns.args]
    status = _launch(_repo_file("launch", "sim.launch.yaml"), items, ns.duration, ns.log_dir, report)
    summary = report / "summary.json"
    if summary.is_file():  # the simulator has printed the summary table (output: screen)
        try:
            passed = bool(json.loads(summary.read_text())["passed"])
        except (KeyError, ValueError) as err:
            print(f"lsv sim: unreadable summary {summary}: {err}", file=sys.stderr)
            return status or 1
        print(f"lsv sim: scenario {'PASSED' if passed else 'FAILED'}; report in {report}")
        if ns.check and not passed and status == 0:
            status = EXIT_SCENARIO_FAILED
    else:
        print(f"lsv sim: no scenario summary was written (see the simulator's log); run report: {report}",
              file=sys.stderr)
        status = status or 1
    return status


def _repo_file(*parts: str) -> Path:
    root = workspace_root()
    if root is None:
        raise SystemExit("lsv: cannot find the workspace (set LSV_WORKSPACE to the repository root)")
    return root.joinpath(*parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lsv", description="Low-speed vehicle stack command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("launch", help="run a ROS 2 YAML launch file (one supervised process per node)")
    p.add_argument("file", type=Path)
    p.add_argument("args", nargs="*", help="launch arguments as name:=value")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--log-dir", type=Path, help="per-node log files (default: log/<date-time>)")
    p.add_argument("--report", type=Path, help="write report.md/report.json about the run into this folder")

    p = sub.add_parser("sim", help="run a scenario with the whole stack in the built-in simulator, write a report")
    p.add_argument("args", nargs="*", help="more launch arguments of launch/sim.launch.yaml as name:=value")
    p.add_argument("--scenario", default="default",
                   help="scenario YAML file, or the name of a shipped one (src/sim/scenarios); default: default")
    p.add_argument("--sync", action="store_true",
                   help="synchronous mode: every step waits for the stack's command (deterministic)")
    p.add_argument("--duration", type=float, default=None,
                   help="wall-clock upper bound in s (the run ends by itself when the scenario ends)")
    p.add_argument("--check", action="store_true",
                   help=f"exit with status {EXIT_SCENARIO_FAILED} when the scenario's pass criteria fail")
    p.add_argument("--log-dir", type=Path)
    p.add_argument("--report", type=Path, default=Path("sim_report"),
                   help="folder for summary.json, plots, report.md (default: sim_report)")

    sub.add_parser("doctor", help="check the environment and say how to fix what is wrong")

    ns = parser.parse_args(argv)
    if ns.command == "launch":
        if not ns.file.exists():
            print(f"lsv launch: error: launch file not found: {ns.file}", file=sys.stderr)
            return EXIT_USAGE
        return _launch(ns.file, ns.args, ns.duration, ns.log_dir, ns.report)
    if ns.command == "sim":
        return _sim(ns)
    if ns.command == "doctor":
        from lsv_bringup.doctor import run_doctor

        return run_doctor()
    parser.error(f"unknown command {ns.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
