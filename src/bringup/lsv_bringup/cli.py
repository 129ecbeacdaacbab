"""``lsv``: the stack's command line (what ``ros2 launch`` and friends do on a full ROS 2).

    lsv launch FILE [name:=value ...] [--duration S] [--log-dir DIR] [--report DIR]
    lsv sim [--scenario FILE|NAME] [--sync] [--oracle] [--latency none|fixed|measured] [--report DIR]
            [--duration S] [--record [DIR]] [name:=value ...]
    lsv record [-o DIR] [--storage mcap|sqlite3] [--split-size MB] [--duration S] [topic ...]
    lsv doctor
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from lsv_bringup.launch_file import LaunchFileError, LaunchLoader, parse_launch_args
from lsv_bringup.packages import workspace_root
from lsv_common import middleware

EXIT_USAGE = 2
EXIT_SCENARIO_FAILED = 3
PROGRESS_PERIOD_S = 5.0  # s between the progress lines of `lsv record`
LATENCY_MODES = ("none", "fixed", "measured")  # lsv_common.latency.MODES (not imported: no rclpy needed here)
SYNC_CAN_PERIOD_MS = 5.0  # ms, the bridge's command frames in sync mode (launch/sim.launch.yaml says why)


def _default_log_dir() -> Path:
    base = Path(os.environ.get("LSV_LOG_DIR", "log"))
    return base / time.strftime("%Y%m%d-%H%M%S")


def _launch(file: Path, items: list[str], duration: float | None, log_dir: Path | None,
            report: Path | None, quiet: bool = False, record: Path | None = None,
            topic_stats: bool = True) -> int:
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

        monitor = GraphMonitor(topic_stats=topic_stats)
    recorder = None
    if record is not None:
        from lsv_bringup.recorder import RECORDER_CLOSE_S, BagWriter, Recorder

        recorder = Recorder(BagWriter(record))
        supervisor.say(f"recording every topic into {record}")
    t0 = time.monotonic()
    status = supervisor.run(duration)
    elapsed = time.monotonic() - t0
    if recorder is not None:
        counts = middleware.close_within(recorder.close, RECORDER_CLOSE_S + middleware.CLOSE_S)
        supervisor.say(f"bag written: {record} ({sum(counts.values())} messages on {len(counts)} topics)")
        if recorder.error is not None:
            supervisor.say(f"recording stopped early: {recorder.error}")
    if monitor is not None:
        snapshot = monitor.snapshot()
        from lsv_bringup.report import write_report

        json_path, md_path = write_report(report, file, elapsed, status, supervisor.summary(), snapshot,
                                          supervisor.shutdown_s)
        supervisor.say(f"report written: {md_path} and {json_path.name}")
    supervisor.say(f"stopped (exit status {status})")
    if monitor is not None:  # last: the report must be on disk if the middleware hangs here
        middleware.close_within(monitor.close, middleware.CLOSE_S)
    return status


def sim_launch_arguments(ns: argparse.Namespace, report: Path) -> list[str]:
    """The launch arguments of launch/sim.launch.yaml for ``lsv sim`` options ``ns``."""
    scenario = Path(ns.scenario)
    return [f"scenario:={scenario.resolve() if scenario.exists() else ns.scenario}",
            f"sim_mode:={'sync' if ns.sync else 'realtime'}", f"report_dir:={report}",
            *([f"can_command_period_ms:={SYNC_CAN_PERIOD_MS:g}"] if ns.sync else []),
            *(["oracle:=true"] if ns.oracle else []),
            *([f"output_delay:={ns.latency}"] if ns.latency != "none" else []), *ns.args]


def _sim(ns: argparse.Namespace) -> int:
    """``lsv sim``: launch/sim.launch.yaml with the scenario, mode and report folder."""
    report = ns.report.resolve()
    if ns.record is not None and ":=" in ns.record:  # `--record name:=value`: a launch argument, not DIR
        ns.args.insert(0, ns.record)
        ns.record = ""
    bag = None
    if ns.record is not None:
        bag = Path(ns.record).resolve() if ns.record else report / "bag"
        if not ns.record and (bag / "metadata.yaml").is_file():
            shutil.rmtree(bag)  # the previous run's bag in the same report folder, like its other files
        if bag.exists():
            print(f"lsv sim: error: bag folder {bag} exists already", file=sys.stderr)
            return EXIT_USAGE
    from lsv_sim.scenario import ScenarioError, read_document, whole_stack_problem

    try:
        why = whole_stack_problem(read_document(ns.scenario))
    except ScenarioError as err:
        print(f"lsv sim: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if why is not None:
        print(f"lsv sim: error: scenario {ns.scenario}: {why}", file=sys.stderr)
        return EXIT_USAGE
    if "ROS_DOMAIN_ID" not in os.environ:  # a simulated vehicle never joins a real graph (domain 0) by accident
        os.environ["ROS_DOMAIN_ID"] = str(middleware.private_domain_id(os.getpid()))
    print(f"lsv sim: ROS domain {os.environ['ROS_DOMAIN_ID']} (set ROS_DOMAIN_ID to choose; "
          "viewers on this machine need the same)")
    items = sim_launch_arguments(ns, report)
    status = _launch(_repo_file("launch", "sim.launch.yaml"), items, ns.duration, ns.log_dir, report, record=bag,
                     topic_stats=ns.topic_stats)
    summary = report / "summary.json"
    if summary.is_file():  # the simulator has printed the summary table (output: screen)
        try:
            result = json.loads(summary.read_text())
            passed, perception = bool(result["passed"]), str(result["perception"])
        except (KeyError, ValueError) as err:
            print(f"lsv sim: unreadable summary {summary}: {err}", file=sys.stderr)
            return status or 1
        print(f"lsv sim: scenario {'PASSED' if passed else 'FAILED'} (perception: {perception}); report in {report}")
        if ns.check and not passed and status == 0:
            status = EXIT_SCENARIO_FAILED
    else:
        print(f"lsv sim: no scenario summary was written (see the simulator's log); run report: {report}",
              file=sys.stderr)
        status = status or 1
    return status


def _record(ns: argparse.Namespace) -> int:
    """``lsv record``: topics of the running graph into a rosbag2 folder until Ctrl-C/SIGTERM/--duration."""
    middleware.apply_defaults()
    from lsv_bringup.recorder import RECORDER_CLOSE_S, BagWriter, Recorder, RecorderError

    out = ns.output or Path(time.strftime("rosbag2_%Y_%m_%d-%H_%M_%S"))
    split = None if ns.split_size is None else int(ns.split_size * 1e6)
    try:
        writer = BagWriter(out, storage=ns.storage, split_size_bytes=split)
    except RecorderError as err:
        print(f"lsv record: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    recorder = Recorder(writer, ns.topics or None)
    stop = threading.Event()  # handlers installed after rclpy.init, which installs its own
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    what = " ".join(ns.topics) if ns.topics else "every topic"
    print(f"lsv record: recording {what} into {out} ({ns.storage})"
          + ("" if ns.duration is None else f" for {ns.duration:g} s") + "; Ctrl-C stops", flush=True)
    started = last = time.monotonic()
    try:
        while not stop.wait(0.2):
            now = time.monotonic()
            if (ns.duration is not None and now - started >= ns.duration) or not recorder.running:
                break
            if now - last >= PROGRESS_PERIOD_S:
                last = now
                counts = recorder.counts()
                print(f"lsv record: {now - started:.0f} s, {sum(counts.values())} messages "
                      f"on {len(counts)} topic(s)", flush=True)
    finally:  # the bag is complete before the middleware teardown, which may hang (close_within)
        counts = middleware.close_within(recorder.close, RECORDER_CLOSE_S + middleware.CLOSE_S)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for topic in sorted(counts):
        print(f"  {counts[topic]:8d}  {topic} ({writer.types[topic]})")
    for topic, type_name in sorted(recorder.skipped.items()):
        print(f"  skipped   {topic} ({type_name}): no message definition or class")
    for topic in sorted(set(recorder.wanted or ()) - set(counts) - set(recorder.skipped)):
        print(f"  none      {topic} (no message received)")
    print(f"lsv record: {sum(counts.values())} messages on {len(counts)} topic(s) written to {out}", flush=True)
    if recorder.error is not None:
        print(f"lsv record: error: recording stopped early: {recorder.error}", file=sys.stderr)
        return 1
    return 0


def _repo_file(*parts: str) -> Path:
    root = workspace_root()
    if root is None:
        raise SystemExit("lsv: cannot find the workspace (set LSV_WORKSPACE to the repository root)")
    return root.joinpath(*parts)


# Commands that live in a module of their own: ``add_arguments(parser)`` declares the options
# (the module stays cheap to import), ``run(namespace) -> int`` does the work.
MODULE_COMMANDS = {
    "play": ("lsv_bringup.player", "publish a rosbag2 recording with its original timing (and /clock)"),
    "suite": ("lsv_bringup.suite", "run every scenario x N seeds in synchronous mode, with faults; write a report"),
    "anonymize": ("lsv_bringup.anonymize", "blur people and plates in a recording's images, coarsen its GNSS"),
}


def _module_commands(sub) -> dict:
    modules = {}
    for name, (module_name, help_text) in MODULE_COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue  # not part of this installation
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
        modules[name] = module
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The ``lsv`` parser and the commands that live in modules of their own (name -> module)."""
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
    p.add_argument("--oracle", action="store_true",
                   help="for comparison only: the planner and the controller see the simulator's ground truth "
                        "instead of the stack's own perception (sensors and perception nodes off); the summary "
                        "says 'perception: oracle'")
    p.add_argument("--latency", choices=LATENCY_MODES, default="none",
                   help="synchronous mode: hold the planner's and perception's outputs back in simulated time by "
                        "each node's configured latency (fixed) or its measured compute time (measured); "
                        "default: none")
    p.add_argument("--duration", type=float, default=None,
                   help="wall-clock upper bound in s (the run ends by itself when the scenario ends)")
    p.add_argument("--topic-stats", action="store_true",
                   help="also count image, point cloud and compressed image messages for report.md (not received "
                        "by default: costs the launcher more CPU)")
    p.add_argument("--check", action="store_true",
                   help=f"exit with status {EXIT_SCENARIO_FAILED} when the scenario's pass criteria fail")
    p.add_argument("--log-dir", type=Path)
    p.add_argument("--report", type=Path, default=Path("sim_report"),
                   help="folder for summary.json, plots, report.md (default: sim_report)")

    p.add_argument("--record", nargs="?", const="", default=None, metavar="DIR",
                   help="record every topic into a rosbag2 folder (default: <report>/bag)")

    p = sub.add_parser("record", help="record topics of the running graph into a rosbag2 folder (MCAP or sqlite3)")
    p.add_argument("topics", nargs="*", help="topics to record (default: every topic, also ones that appear later)")
    p.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="bag folder, must not exist (default: rosbag2_<date-time>)")
    p.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap", help="storage format (default: mcap)")
    p.add_argument("--split-size", type=float, metavar="MB", help="start a new file after this many MB of messages")
    p.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds (default: until Ctrl-C)")

    sub.add_parser("doctor", help="check the environment and say how to fix what is wrong")
    return parser, _module_commands(sub)


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    ns = parser.parse_args(argv)
    if ns.command in modules:
        return modules[ns.command].run(ns)
    if ns.command == "launch":
        if not ns.file.exists():
            print(f"lsv launch: error: launch file not found: {ns.file}", file=sys.stderr)
            return EXIT_USAGE
        return _launch(ns.file, ns.args, ns.duration, ns.log_dir, ns.report)
    if ns.command == "sim":
        return _sim(ns)
    if ns.command == "record":
        return _record(ns)
    if ns.command == "doctor":
        from lsv_bringup.doctor import run_doctor

        return run_doctor()
    parser.error(f"unknown command {ns.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
