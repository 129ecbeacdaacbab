"""``lsv``: the stack's command line (what ``ros2 launch`` and friends do on a full ROS 2).

    lsv launch FILE [name:=value ...] [--duration S] [--log-dir DIR] [--report DIR]
    lsv sim [name:=value ...] [--duration S] [--report DIR]
    lsv doctor
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lsv_bringup.launch_file import LaunchFileError, LaunchLoader, parse_launch_args
from lsv_bringup.packages import workspace_root
from lsv_common import middleware

EXIT_USAGE = 2


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

    p = sub.add_parser("sim", help="run the whole stack against the built-in simulator and write a report")
    p.add_argument("args", nargs="*", help="launch arguments as name:=value")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--log-dir", type=Path)
    p.add_argument("--report", type=Path, default=Path("sim_report"))

    sub.add_parser("doctor", help="check the environment and say how to fix what is wrong")

    ns = parser.parse_args(argv)
    if ns.command == "launch":
        if not ns.file.exists():
            print(f"lsv launch: error: launch file not found: {ns.file}", file=sys.stderr)
            return EXIT_USAGE
        return _launch(ns.file, ns.args, ns.duration, ns.log_dir, ns.report)
    if ns.command == "sim":
        return _launch(_repo_file("launch", "sim.launch.yaml"), ns.args, ns.duration, ns.log_dir, ns.report)
    if ns.command == "doctor":
        from lsv_bringup.doctor import run_doctor

        return run_doctor()
    parser.error(f"unknown command {ns.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
