#!/usr/bin/env python3
"""Re-record the CI bags of tests/data/ from the built-in simulator in synchronous mode.

    .venv/bin/python tools/record_ci_bags.py [NAME ...] [--keep-raw DIR] [--postprocess RAW_BAG NAME]

For each bag (``CI_BAGS`` below) it runs ``lsv sim --scenario ... --sync --record RAW
duration_s:=...`` inside the private network namespace, then writes ``tests/data/NAME/`` from
the raw recording:

- only the topics the replay tests use (``KEEP_TOPICS``, inputs, outputs and ground truth);
- time stamps on the simulator's clock: each message is stamped with the latest ``/clock``
  value received before it (what ``ros2 bag record --use-sim-time`` does), so the bag plays in
  simulated time (the raw recording is stamped with wall time, and synchronous mode runs at a
  fraction of real time);
- ``/planning/mission_goal`` marked as offered transient-local (latched), as the simulator
  publishes it, so that ``lsv play`` and ``ros2 bag play`` re-offer it the same way;
- MCAP with zstd-compressed chunks (the standard MCAP compression every rosbag2 MCAP reader
  decodes), message definitions embedded;
- ``tests/data/NAME.scenario.json``: the scenario's summary.json (ground-truth outcome) plus
  the map facts the tests check against (stop lines, crosswalks of the scenario).

After re-recording, regenerate the replay references on purpose:
``scripts/netns_sandbox.sh .venv/bin/python -m pytest tests/test_replay.py --update-refs``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

# name -> (scenario name or file, simulated seconds)
CI_BAGS: dict[str, tuple[str, float]] = {
    "red_light_crosswalk": (str(DATA / "scenarios" / "ci_red_light_crosswalk.yaml"), 45.0),
    "emergency_vehicle": ("emergency_vehicle_behind", 30.0),
    "gnss_dropout": ("gnss_dropout", 40.0),
}

KEEP_TOPICS = (
    "/clock",
    "/sensing/gnss/fix", "/sensing/imu", "/vehicle/status",  # localizer inputs
    "/localization/odometry",  # localizer output; planner / controller / v2x_client input
    "/v2x/datagrams",  # v2x_client input (what the RSU sent over UDP, undecoded)
    "/v2x/traffic_signals", "/v2x/hints", "/v2x/objects",  # v2x_client outputs; planner inputs
    "/planning/mission_goal", "/planning/trajectory", "/planning/decision",  # planner in / out
    "/vehicle/command", "/control/mrm_state", "/diagnostics",  # controller out; heartbeats in
    "/sim/ground_truth/odometry", "/sim/ground_truth/objects", "/sim/ground_truth/traffic_signals",
)
LATCHED = ("/planning/mission_goal",)
# Topics thinned to one message per period of simulated time: in sync mode the bridge publishes
# at 50 Hz of *wall* time while the simulated time stands still, so the raw bag holds bursts of
# identical-stamp messages (450/s of simulated time instead of 50). The first of each period is kept.
THIN_NS = {"/vehicle/status": 20_000_000, "/vehicle/command": 20_000_000}
MAP_STOP_LINES = (10059, 10053, 10056, 10062, 10096)

# Wall-clock timeouts widened for the recording (--relaxed): synchronous mode holds the simulated
# time for the stack, but the bridge's timeouts run on the wall clock and the controller's on a
# clock fed by processes that a loaded 2-core machine starves for hundreds of ms; with the
# vehicle's values the stack stops (correctly) for stale inputs that only the machine's load made
# stale, and the bag shows no driving. The values are what tests/test_replay.py gives the nodes too.
RELAXED_PARAMS = {
    "can_bridge": {"command_timeout_ms": 1000.0, "stale_periods": 100},
    "controller": {"timeouts.odometry_s": 0.5, "timeouts.vehicle_status_s": 0.5, "timeouts.trajectory_s": 1.0,
                   "timeouts.objects_s": 1.0, "timeouts.diagnostics_s": 10.0, "realtime_priority": 0},
}


def checkout_env(workspace: Path) -> dict[str, str]:
    """Environment that runs the stack from another checkout (e.g. a clean ``git worktree`` of a
    commit while this tree is being edited): its packages first on PYTHONPATH, its launch files."""
    env = dict(os.environ)
    dirs = sorted(str(p.parent) for p in (workspace / "src").glob("*/setup.py"))
    env["PYTHONPATH"] = os.pathsep.join([*dirs, *filter(None, [env.get("PYTHONPATH")])])
    env["LSV_WORKSPACE"] = str(workspace)
    return env


def relaxed_workspace(workspace: Path, into: Path) -> Path:
    """A workspace whose launch/ is ``workspace``'s with ``RELAXED_PARAMS`` added to those nodes and
    whose src/ is ``workspace``'s (a link): ``lsv sim`` with LSV_WORKSPACE pointing at it."""
    from ruamel.yaml import YAML

    yaml = YAML()
    (into / "launch").mkdir(parents=True, exist_ok=True)
    for f in (workspace / "launch").glob("*.yaml"):
        doc = yaml.load(f.read_text())
        for entry in doc.get("launch", []) if isinstance(doc, dict) else []:
            node = entry.get("node") if isinstance(entry, dict) else None
            if node is not None and node.get("name") in RELAXED_PARAMS:
                node.setdefault("param", []).extend(
                    {"name": k, "value": str(v)} for k, v in RELAXED_PARAMS[node["name"]].items())
        with (into / "launch" / f.name).open("w") as out:
            yaml.dump(doc, out)
    link = into / "src"
    if not link.exists():
        link.symlink_to(workspace / "src")
    return into


def record(name: str, scenario: str, duration_s: float, raw_dir: Path,
           workspace: Path | None = None, relaxed: bool = True) -> tuple[Path, Path]:
    """Run the scenario with the whole stack in sync mode; returns (raw bag, report dir)."""
    bag, report = raw_dir / f"{name}_raw", raw_dir / f"{name}_report"
    for p in (bag, report):
        shutil.rmtree(p, ignore_errors=True)
    cmd = [str(ROOT / ".venv/bin/lsv"), "sim", "--scenario", scenario, "--sync", "--report", str(report),
           "--record", str(bag), "--log-dir", str(raw_dir / f"{name}_log"), f"duration_s:={duration_s}"]
    if os.environ.get("LSV_IN_NETNS") != "1":
        cmd = [str(ROOT / "scripts/netns_sandbox.sh"), *cmd]
    print(f"record_ci_bags: {name}: {' '.join(cmd)}", flush=True)
    from lsv_common.testing import private_ros_env

    # a domain of its own: Fast DDS' shared-memory transport (/dev/shm) is not fenced by the network
    # namespace, so another graph on domain 0 of this computer would otherwise mix with this one
    env = private_ros_env(base=checkout_env(workspace or ROOT))
    if relaxed:
        env["LSV_WORKSPACE"] = str(relaxed_workspace(workspace or ROOT, raw_dir / "relaxed_workspace"))
    subprocess.run(cmd, cwd=workspace or ROOT, check=False, env=env)
    if not (bag / "metadata.yaml").is_file() or not (report / "summary.json").is_file():
        raise SystemExit(f"record_ci_bags: {name}: the run left no bag or no summary.json (see {raw_dir})")
    return bag, report


def postprocess(raw: Path, out: Path, topics: tuple[str, ...] = KEEP_TOPICS) -> dict[str, int]:
    """Raw recording (wall-clock stamps) -> CI bag on the simulator's clock (see the docstring)."""
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.rosbag2.writer import CompressionFormat, CompressionMode

    from lsv_bringup.player import BagSource

    latched = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
                  QosTime(0, 0), QosTime(0, 0), QosLiveliness.AUTOMATIC, QosTime(0, 0), False)
    with BagSource(raw) as src:
        wanted = [t for t in topics if t in src.topics]
        rows: list[tuple[int, int, str, bytes]] = []  # (sim ns, order, topic, raw)
        clock_ns = None
        pending: list[tuple[int, str, bytes]] = []  # before the first /clock: stamped with it
        for i, (topic, _, data) in enumerate(src.messages(wanted)):
            if topic == "/clock":
                c = src.decode(topic, data).clock
                clock_ns = c.sec * 1_000_000_000 + c.nanosec
                rows.extend((clock_ns, j, t, d) for j, t, d in pending)
                pending.clear()
            if clock_ns is None:
                pending.append((i, topic, data))
            else:
                rows.append((clock_ns, i, topic, data))
        rows.sort(key=lambda r: (r[0], r[1]))
        slot: dict[str, int] = {}
        thinned = []
        for row in rows:
            period = THIN_NS.get(row[2])
            if period is not None:
                k = row[0] // period
                if slot.get(row[2]) == k:
                    continue
                slot[row[2]] = k
            thinned.append(row)
        rows = thinned
        if out.exists():
            shutil.rmtree(out)
        writer = Writer(out, version=9, storage_plugin=StoragePlugin.MCAP)
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        counts: dict[str, int] = {}
        with writer:
            conns = {t: writer.add_connection(t, src.topics[t].type_name, typestore=src.typestore,
                                              offered_qos_profiles=[latched] if t in LATCHED else [])
                     for t in wanted}
            for ts, _, topic, data in rows:
                writer.write(conns[topic], ts, data)
                counts[topic] = counts.get(topic, 0) + 1
    return counts


def scenario_facts(scenario: str, report: Path) -> dict:
    """summary.json of the run plus the map's stop lines and crosswalks (ground truth for the tests)."""
    from ruamel.yaml import YAML

    from lsv_sim.world import load_world

    world = load_world()
    path = Path(scenario) if Path(scenario).is_file() else ROOT / "src" / "sim" / "scenarios" / f"{scenario}.yaml"
    doc = YAML(typ="safe").load(path.read_text())
    facts = {"scenario": str(path.relative_to(ROOT)), "faults": doc.get("faults", []),
             "summary": json.loads((report / "summary.json").read_text()),
             "stop_lines": {str(sl.id): {"points": sl.points.round(3).tolist(), "intersection_id": sl.intersection_id,
                                         "phase_id": sl.phase_id}
                            for sl in world.stop_lines if sl.id in MAP_STOP_LINES},
             "crosswalks": {c.name: c.polygon.round(3).tolist() for c in world.crosswalks}}
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"bags to record (default: all of {', '.join(CI_BAGS)})")
    parser.add_argument("--keep-raw", type=Path, help="keep the raw recordings and reports in this folder")
    parser.add_argument("--workspace", type=Path,
                        help="run the stack from this checkout (e.g. `git worktree add --detach DIR HEAD`), "
                             "not from this tree")
    parser.add_argument("--vehicle-timeouts", action="store_true",
                        help="record with the vehicle's own timeouts (default: RELAXED_PARAMS, see the source)")
    parser.add_argument("--postprocess", nargs=2, metavar=("RAW_DIR", "NAME"),
                        help="only post-process RAW_DIR/NAME_raw and RAW_DIR/NAME_report of an earlier run")
    ns = parser.parse_args(argv)
    if ns.postprocess:
        raw_dir, name = Path(ns.postprocess[0]), ns.postprocess[1]
        jobs = [(name, raw_dir / f"{name}_raw", raw_dir / f"{name}_report")]
    else:
        unknown = set(ns.names) - set(CI_BAGS)
        if unknown:
            parser.error(f"unknown bag(s) {sorted(unknown)}; known: {', '.join(CI_BAGS)}")
        raw_dir = ns.keep_raw or Path(tempfile.mkdtemp(prefix="ci_bags_"))
        raw_dir.mkdir(parents=True, exist_ok=True)
        jobs = []
        for name in ns.names or list(CI_BAGS):
            scenario, duration = CI_BAGS[name]
            jobs.append((name, *record(name, scenario, duration, raw_dir, ns.workspace, not ns.vehicle_timeouts)))
    for name, raw, report in jobs:
        counts = postprocess(raw, DATA / name)
        facts = scenario_facts(CI_BAGS[name][0], report)
        (DATA / f"{name}.scenario.json").write_text(json.dumps(facts, indent=1) + "\n")
        size = sum(p.stat().st_size for p in (DATA / name).iterdir()) / 1e6
        print(f"record_ci_bags: {name}: {sum(counts.values())} messages on {len(counts)} topics, {size:.1f} MB "
              f"-> {DATA / name}; scenario {'PASSED' if facts['summary'].get('passed') else 'FAILED'}", flush=True)
    if not ns.keep_raw and not ns.postprocess:
        shutil.rmtree(raw_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
