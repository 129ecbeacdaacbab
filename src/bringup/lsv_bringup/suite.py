"""``lsv suite``: every scenario x N seeds in synchronous mode, with fault injection, and a report.

    lsv suite [--scenarios DIR] [--seeds N] [--jobs J] [--report DIR] [--subset ci | --only NAME ...] [--resume]
              [--oracle] [--latency none|fixed|measured]

Each run is ``lsv sim --sync --check`` of one scenario document, with the stack's own perception
in the loop. Variants for comparison: ``--oracle`` (the planner and the controller on the
simulator's ground truth) and ``--latency fixed|measured`` (outputs held back in simulated time
by compute time, ``lsv_common.latency``). A variant's runs live in ``runs_<variant>/`` of the same
report folder (``runs/`` for the plain stack) and its reports are ``suite_<variant>.json`` /
``report_<variant>.md``; each report shows every variant side by side whose rows exist in the
folder. Seed 0 is the file as it is,
seed k >= 1 the document perturbed by ``lsv_sim.scenario.randomize`` (actor trigger times and
distances, actor positions and speeds, fault times, sensor noise), written as ``scenario.yaml``
into the run's folder. Every run gets its own network namespace where one can be made (the
sandbox script again, nested), its own ROS domain id, CAN multicast group and V2X port, so
parallel runs (``--jobs``) cannot hear each other. A ``kill_node`` fault is executed here:
the simulator logs ``FAULT kill_node <node>`` at the fault's simulated time (and holds the
simulated time for a moment in sync mode); this reads the line and SIGKILLs that node's
process (its pid from the launcher's ``started`` lines).

Runs start longest scenario first (the pool's last minutes are short runs, not a 320 s patrol).
Each finished run leaves ``row.json`` in its folder, stamped with the code it ran
(``code_revision``: git tree hashes of ``src/`` and ``launch/``) and a hash of its scenario
document; ``--resume`` takes such a row instead of running again when both still match, so a
full suite can be split over several sittings of the same code (interrupt with Ctrl-C: the
runs cut short leave no ``row.json`` and run again on ``--resume``). A dirty working tree has
no revision: nothing is resumed from or into it.

A run passes when the scenario's pass criteria pass (``summary.json``) and no node exited or
was respawned except the one killed on purpose (``report.json`` of the launcher). Writes
``suite.json`` and ``report.md`` (links to each run's plots); exit status 0 when every run
passed, 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsv_bringup.comfort_report import comfort_row, suite_lines

EXIT_USAGE = 2
_PR_SET_PDEATHSIG = 1  # prctl option: signal the child when the parent dies
# The CI subset (`make test`, `lsv suite --subset ci`): short fault scenarios only.
CI_SUBSET = ("kill_controller", "chassis_status_stop")
RUN_TIMEOUT_BASE_S = 180.0  # s wall; + RUN_TIMEOUT_PER_SIM_S per simulated second
RUN_TIMEOUT_PER_SIM_S = 30.0  # s wall per simulated s (sync mode: 0.15-0.3x real time on 2 cores, 0.04x when busy)
RUN_KILL_GRACE_S = 60.0  # s after the timeout's SIGINT before the run's process group is killed
V2X_PORT_BASE = 31000  # + slot: the V2X UDP port of a run
CAN_GROUP = "239.74.{a}.{b}"  # the run's CAN multicast group
KILL_LINE = "FAULT kill_node"  # lsv_sim.sim_node.KILL_ANNOUNCEMENT (not imported: no rclpy here)
STARTED = "[lsv] started /"
VIOLATION_KEYS = ("red_light_violations", "stop_line_violations", "crosswalk_yield_violations")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenarios", type=Path, metavar="DIR",
                        help="folder of scenario YAML files, searched recursively (default: the shipped ones, "
                             "src/sim/scenarios and its faults/ folder)")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="seeds per scenario: 0 = the file as written, 1..N-1 randomized (default: 1)")
    parser.add_argument("--jobs", type=int, default=1, metavar="J", help="runs at the same time (default: 1)")
    parser.add_argument("--report", type=Path, default=Path("suite_report"), metavar="DIR",
                        help="folder for suite.json, report.md and one folder per run (default: suite_report)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--subset", choices=["ci"], help=f"ci: only {', '.join(CI_SUBSET)}")
    which.add_argument("--only", nargs="+", metavar="NAME",
                       help="only these scenarios (file names without .yaml, or scenario names)")
    parser.add_argument("--resume", action="store_true",
                        help="take the result of a run already in the report folder (row.json) when it ran the same "
                             "scenario document on the same code revision (git tree of src/ and launch/)")
    parser.add_argument("--oracle", action="store_true",
                        help="for comparison: every run with the simulator's ground truth instead of the stack's "
                             "perception (lsv sim --oracle); rows in <report>/runs_oracle")
    parser.add_argument("--latency", choices=("none", "fixed", "measured"), default="none",
                        help="hold the planner's and perception's outputs back by compute time in simulated time "
                             "(lsv sim --latency); rows in <report>/runs_latency_<mode>")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help=f"wall-clock limit per run (default: {RUN_TIMEOUT_BASE_S:g} s + "
                             f"{RUN_TIMEOUT_PER_SIM_S:g} x the scenario's duration)")


# ------------------------------------------------------------------------------ planning (pure)

@dataclass(frozen=True)
class RunSpec:
    scenario: str  # the scenario's name
    source: Path  # its file
    seed: int  # suite seed k (0 = as written)
    folder: Path  # the run's report folder
    duration_s: float
    kills: tuple[tuple[str, float], ...]  # (node, at_s) of kill_node faults


def scenario_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yaml") if p.is_file())


def variant_name(oracle: bool = False, latency: str = "none") -> str:
    """``stack``, ``oracle``, ``stack_latency_fixed``, ...: what a suite's runs were run with."""
    return ("oracle" if oracle else "stack") + ("" if latency == "none" else f"_latency_{latency}")


def runs_folder(report: Path, variant: str) -> Path:
    """Where the runs of one variant keep their folders (and ``row.json``)."""
    return report / ("runs" if variant == "stack" else f"runs_{variant.removeprefix('stack_')}")


def other_variants(report: Path, variant: str) -> dict[str, list[dict[str, Any]]]:
    """The finished rows of every other variant in the report folder."""
    out = {}
    for folder in sorted(report.glob("runs*")):
        name = "stack" if folder.name == "runs" else folder.name.removeprefix("runs_")
        name = name if name.startswith("oracle") or name == "stack" else f"stack_{name}"
        if name != variant and folder.is_dir() and (rows := finished_rows(folder)):
            out[name] = rows
    return out


def plan_runs(files: list[Path], seeds: int, report: Path, only: list[str] | None = None,
              skipped: list[str] | None = None, variant: str = "stack"
              ) -> tuple[list[tuple[RunSpec, dict[str, Any], dict[str, Any]]], list[str]]:
    """(run spec, perturbed document, what changed) for every scenario x seed; and the problems
    (unreadable files, names in ``only`` that match nothing). Scenarios the whole stack cannot run
    (``lsv_sim.scenario.whole_stack_problem``) are left out and named in ``skipped``, with the reason."""
    from lsv_sim.scenario import ScenarioError, randomize, read_document, whole_stack_problem

    runs, problems, matched = [], [], set()
    for path in files:
        try:
            doc = read_document(path)
        except ScenarioError as err:
            problems.append(str(err))
            continue
        name = str(doc.get("name", path.stem))
        if only is not None:
            hit = {path.stem, name} & set(only)
            if not hit:
                continue
            matched |= hit
        why = whole_stack_problem(doc)
        if why is not None:
            if skipped is not None:
                skipped.append(f"{path.stem}: {why}")
            continue
        rel = path.parent.name if path.parent.name == "faults" else ""
        label = f"{rel}/{path.stem}" if rel else path.stem
        for k in range(seeds):
            perturbed, changes = randomize(doc, k)
            kills = tuple((str(f.get("target")), float(f.get("at_s", 0.0))) for f in perturbed.get("faults") or []
                          if isinstance(f, dict) and f.get("type") == "kill_node")
            duration = perturbed.get("duration_s", 60.0)
            runs.append((RunSpec(name, path, k, runs_folder(report, variant) / label.replace("/", "_") / f"seed{k}",
                                 float(duration) if isinstance(duration, (int, float)) else 60.0, kills),
                         perturbed, changes))
    for name in only or ():
        if name not in matched:
            problems.append(f"--only {name}: no scenario file or scenario of that name")
    return runs, problems


def execution_order(plan: list[tuple[RunSpec, Any, Any]]) -> list[int]:
    """Indices of ``plan`` longest scenario first (stable): with J runs at a time the suite then
    ends on short runs instead of waiting for one long one."""
    return sorted(range(len(plan)), key=lambda i: -plan[i][0].duration_s)


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reusable_row(folder: Path, revision: str | None, doc_hash: str) -> dict[str, Any] | None:
    """The row a finished run left in ``folder`` when it ran this document on this code, else None."""
    if revision is None:
        return None
    row = _read_json(folder / "row.json")
    if row is None or row.get("revision") != revision or row.get("document_hash") != doc_hash:
        return None
    return row


def fresh_run_folder(folder: Path, scenario_text: str) -> Path:
    """Empty ``folder`` of an earlier attempt (its logs, plots, run_info.txt, row.json: a run
    interrupted or failed before would otherwise leave its files next to the new run's) and
    write the run's ``scenario.yaml``; returns that file."""
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    path = folder / "scenario.yaml"
    path.write_text(scenario_text)
    return path


def parse_started(line: str) -> tuple[str, int] | None:
    """``[lsv] started /controller (lsv_control/controller, pid 123, log ...)`` -> ("controller", 123)."""
    if not line.startswith(STARTED) or "pid " not in line:
        return None
    name = line[len(STARTED):].split()[0].strip("/")
    try:
        return name, int(line.split("pid ")[1].split(",")[0].split(")")[0])
    except ValueError:
        return None


def parse_kill(line: str) -> str | None:
    """The node named by the simulator's ``FAULT kill_node <node> at t = ...`` line, else None."""
    i = line.find(KILL_LINE)
    if i < 0:
        return None
    rest = line[i + len(KILL_LINE):].split()
    return rest[0].strip("/") if rest else None


def judge(spec: RunSpec, summary: dict[str, Any] | None, launch: dict[str, Any] | None, exit_status: int | None,
          killed: dict[str, Any], timed_out: bool) -> dict[str, Any]:
    """One run's row for suite.json: the scenario's verdict, crashes, faults (pure)."""
    problems = []
    if timed_out:
        problems.append("timed out")
    if summary is None:
        problems.append("no summary.json")
    elif not summary.get("passed"):
        problems += [f"{c['name']} failed ({c['value']}, limit {c['limit']})" for c in summary.get("checks", [])
                     if not c["passed"]]
    targets = {node for node, _ in spec.kills}
    crashes = []
    if launch is None:
        problems.append("no launcher report.json")
    else:
        for n in launch.get("nodes", []):
            name = n["node"].strip("/")
            if name in targets:
                continue
            if n.get("failed") or n.get("starts", 1) > 1:
                crashes.append(name)
    if crashes:
        problems.append("nodes died that were not killed: " + ", ".join(crashes))
    for node in targets - set(killed):
        problems.append(f"kill_node {node} was not executed")
    # The launcher's status as its report states it: a hang in the middleware's teardown after
    # the report was written ends the process with 1 (middleware.close_within), not the run's verdict.
    status = exit_status if launch is None else launch.get("exit_status", exit_status)
    if status not in (0, 3) and not (status == 1 and targets and not crashes):
        problems.append(f"lsv sim exit status {status}")
    s = summary or {}
    min_d = [v["distance_m"] for v in (s.get("min_distance_m") or {}).values() if v.get("distance_m") is not None]
    return {
        "scenario": spec.scenario, "file": str(spec.source), "seed": spec.seed, "folder": str(spec.folder),
        "perception": s.get("perception"), "passed": not problems, "problems": problems,
        "exit_status": exit_status, "launcher_status": status,
        "collisions": len(s.get("collisions", [])) if summary else None,
        "violations": sum(len(s.get(k, [])) for k in VIOLATION_KEYS) if summary else None,
        "min_distance_m": min(min_d) if min_d else None,
        "goal_reached": s.get("goal_reached"), "distance_m": s.get("distance_m"),
        "checks": s.get("checks", []), "faults": s.get("faults", []), "killed": killed, "crashed": crashes,
        "comfort": comfort_row(summary),  # ride comfort outside emergency stops (lsv_sim.comfort)
    }


# ------------------------------------------------------------------------------ running

@dataclass
class Slot:
    """Resources of one concurrent run: distinct from every other slot of this suite."""

    index: int
    base: int  # from the suite's pid: two suites on one host network differ too

    @property
    def domain_id(self) -> int:
        from lsv_common import middleware

        low, high = middleware.DOMAIN_ID_RANGE
        return low + (self.base + self.index) % (high - low + 1)

    @property
    def can_channel(self) -> str:
        n = self.base * 16 + self.index
        return CAN_GROUP.format(a=100 + (n // 250) % 150, b=1 + n % 250)

    @property
    def v2x_port(self) -> int:
        return V2X_PORT_BASE + (self.base * 16 + self.index) % 20000


@dataclass
class Runner:
    repo: Path
    isolate: bool  # wrap every run in its own network namespace
    timeout_s: float | None
    oracle: bool = False  # ground truth instead of the stack's perception (lsv sim --oracle)
    latency: str = "none"  # lsv sim --latency
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def command(self, spec: RunSpec, slot: Slot) -> list[str]:
        cmd = [sys.executable, "-m", "lsv_bringup.cli", "sim", "--scenario", str(spec.folder / "scenario.yaml"),
               "--sync", "--check", "--report", str(spec.folder), "--log-dir", str(spec.folder / "log"),
               *(["--oracle"] if self.oracle else []), *(["--latency", self.latency] if self.latency != "none" else []),
               f"can_channel:={slot.can_channel}", f"v2x_port:={slot.v2x_port}"]
        if self.isolate:
            cmd = [str(self.repo / "scripts" / "netns_sandbox.sh"), *cmd]
        return cmd

    def run(self, spec: RunSpec, slot: Slot) -> dict[str, Any]:
        from lsv_common.testing import private_ros_env

        env = private_ros_env(domain_id=slot.domain_id)
        if self.isolate:
            env.pop("LSV_IN_NETNS", None)  # the sandbox script nests a namespace per run
        limit = self.timeout_s or RUN_TIMEOUT_BASE_S + RUN_TIMEOUT_PER_SIM_S * spec.duration_s
        t0 = time.monotonic()
        pids: dict[str, int] = {}
        killed: dict[str, Any] = {}
        interrupted = False
        with open(spec.folder / "output.log", "w") as out:
            proc = subprocess.Popen(self.command(spec, slot), env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                    preexec_fn=_die_with_parent)  # no orphaned run if the suite dies
            timer = threading.Timer(limit, lambda: proc.send_signal(signal.SIGINT))
            killer = threading.Timer(limit + RUN_KILL_GRACE_S, lambda: _kill_group(proc))
            timer.start()
            killer.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    out.write(line)
                    out.flush()
                    started = parse_started(line)
                    if started is not None:
                        pids[started[0]] = started[1]
                    target = parse_kill(line)
                    if target is not None and target not in killed:
                        killed[target] = self._kill(target, pids, t0)
                    if self.stopping.is_set() and not interrupted and proc.poll() is None:
                        proc.send_signal(signal.SIGINT)  # once: a second one would cut its report short
                        interrupted = True
                proc.wait()
            finally:
                timer.cancel()
                killer.cancel()
        timed_out = time.monotonic() - t0 >= limit
        summary = _read_json(spec.folder / "summary.json")
        launch = _read_json(spec.folder / "report.json")
        row = judge(spec, summary, launch, proc.returncode, killed, timed_out)
        row["wall_s"] = round(time.monotonic() - t0, 1)
        return row

    @staticmethod
    def _kill(target: str, pids: dict[str, int], t0: float) -> dict[str, Any]:
        pid = pids.get(target)
        info: dict[str, Any] = {"pid": pid, "wall_s": round(time.monotonic() - t0, 2)}
        if pid is None:
            info["error"] = f"no node '{target}' in this launch ({', '.join(sorted(pids))})"
            return info
        try:
            os.kill(pid, signal.SIGKILL)
            info["signal"] = "SIGKILL"
        except ProcessLookupError:
            info["error"] = "the process was gone already"
        return info


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a run that ignored its SIGINT (stuck in C code that holds the GIL)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _die_with_parent() -> None:  # in the child between fork and exec: no imports here (threads)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def code_revision(repo: Path) -> str | None:
    """``<tree of src>.<tree of launch>`` at HEAD when both are clean, else None (uncommitted
    changes: a result cannot be tied to code anyone can check out)."""
    try:
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "src", "launch"],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        trees = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD:src", "HEAD:launch"],
                               capture_output=True, text=True, timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return None if dirty or len(trees) != 2 else ".".join(t[:12] for t in trees)


def can_isolate(repo: Path) -> bool:
    """Whether a network namespace per run can be made (root or user namespaces)."""
    script = repo / "scripts" / "netns_sandbox.sh"
    if not script.is_file():
        return False
    env = {k: v for k, v in os.environ.items() if k != "LSV_IN_NETNS"}
    try:
        r = subprocess.run([str(script), "true"], env=env, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "no private network namespace" not in r.stderr


# ------------------------------------------------------------------------------ reporting

def _fmt(v: Any, unit: str = "", nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def fault_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per injected fault of every run (for the tables)."""
    out = []
    for r in rows:
        for f in r["faults"]:
            d = f.get("diagnostic")
            out.append({"scenario": r["scenario"], "seed": r["seed"], "fault": f["type"]
                        + (f" {f['target']}" if f.get("target") else ""), "at_s": f.get("at_s"),
                        "speed_mps": f.get("speed_at_injection_mps"),
                        "time_to_standstill_s": f.get("time_to_standstill_s"),
                        "distance_to_standstill_m": f.get("distance_to_standstill_m"),
                        "distance_after_injection_m": f.get("distance_after_injection_m"),
                        "diagnostic": None if d is None else d["text"],
                        "diagnostic_delay_s": None if d is None else d["delay_s"], "passed": r["passed"]})
    return out


def markdown(suite: dict[str, Any], report: Path) -> str:
    rows = suite["runs"]
    lines = ["# Scenario suite", "",
             f"- {suite['finished_at']}: {len(rows)} run(s), {suite['totals']['passed']} passed, "
             f"{suite['totals']['failed']} failed; {suite['totals']['collisions']} collision(s), "
             f"{suite['totals']['violations']} violation(s); seeds {suite['seeds']}, jobs {suite['jobs']}, "
             f"{suite['wall_s']:.0f} s wall",
             f"- perception: {suite.get('perception', 'stack')} "
             + ("(the stack's own sensors, detectors and tracker)" if suite.get("perception", "stack") == "stack"
                else "(ground truth given to the planner and the controller; comparison only)")
             + f"; latency: {suite.get('latency', 'none')} (outputs held back by compute time: lsv_common.latency)",
             f"- runs isolated in network namespaces: {'yes' if suite['isolated'] else 'no'}",
             f"- code revision (git trees of src/ and launch/): {suite.get('revision') or 'uncommitted changes'}"
             + (f"; {suite['resumed']} run(s) from an earlier sitting (--resume)" if suite.get("resumed") else ""),
             *(f"- skipped {line}" for line in suite.get("skipped", [])), "",
             "## Runs", "",
             "| scenario | seed | result | collisions | violations | min distance (m) | goal | driven (m) | "
             "wall (s) | plots | problems |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rel = os.path.relpath(r["folder"], report)
        plots = " ".join(f"[{p.split('.')[0]}]({rel}/{p})" for p in ("trajectory.png", "speed_accel.png",
                                                                    "events.png") if Path(r["folder"], p).exists())
        lines.append(f"| [{r['scenario']}]({rel}/summary.json) | {r['seed']} | {'PASS' if r['passed'] else 'FAIL'} | "
                     f"{_fmt(r['collisions'])} | {_fmt(r['violations'])} | {_fmt(r['min_distance_m'], nd=2)} | "
                     f"{_fmt(r['goal_reached'])} | {_fmt(r['distance_m'])} | {_fmt(r.get('wall_s'))} | {plots} | "
                     + "; ".join(r["problems"]).replace("|", "/") + " |")
    lines += suite_lines(rows, report)
    if suite.get("comparison"):
        lines += comparison_lines(suite["comparison"])
    faults = fault_rows(rows)
    if faults:
        lines += ["", "## Faults", "", "Time and distance from the injection to the first standstill after it, "
                  "and the first report of the cause on /diagnostics.", "",
                  "| scenario | seed | fault | at (s) | speed then (m/s) | to standstill (s) | distance (m) | "
                  "driven after (m) | /diagnostics (delay s) |", "|---|---|---|---|---|---|---|---|---|"]
        for f in faults:
            lines.append(f"| {f['scenario']} | {f['seed']} | {f['fault']} | {_fmt(f['at_s'])} | "
                         f"{_fmt(f['speed_mps'], nd=2)} | {_fmt(f['time_to_standstill_s'], nd=2)} | "
                         f"{_fmt(f['distance_to_standstill_m'], nd=2)} | {_fmt(f['distance_after_injection_m'])} | "
                         f"{(f['diagnostic'] or 'none').replace('|', '/')} ({_fmt(f['diagnostic_delay_s'], nd=2)}) |")
    return "\n".join(lines) + "\n"


def finished_rows(folder: Path) -> list[dict[str, Any]]:
    """The ``row.json`` of every finished run under ``folder`` (the other perception mode's runs)."""
    rows = (_read_json(p) for p in sorted(folder.glob("*/seed*/row.json")))
    return [r for r in rows if r is not None]


def compare_variants(by_variant: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per scenario and variant (``variant_name``): runs, passed, collisions, violations, the
    smallest distance to any actor, and the mean time and distance to standstill after the faults (pure)."""
    out = []
    names = sorted(by_variant, key=lambda v: (v != "stack", v))  # the plain stack first
    for scenario in sorted({r["scenario"] for rows in by_variant.values() for r in rows}):
        entry: dict[str, Any] = {"scenario": scenario}
        for name in names:
            rows = [r for r in by_variant[name] if r["scenario"] == scenario]
            if not rows:
                continue
            dists = [r["min_distance_m"] for r in rows if r.get("min_distance_m") is not None]
            faults = [f for r in rows for f in r.get("faults", []) if f.get("time_to_standstill_s") is not None]
            entry[name] = {"runs": len(rows), "passed": sum(bool(r["passed"]) for r in rows),
                           "collisions": sum(r.get("collisions") or 0 for r in rows),
                           "violations": sum(r.get("violations") or 0 for r in rows),
                           "min_distance_m": min(dists) if dists else None,
                           "mean_time_to_standstill_s": _mean(f["time_to_standstill_s"] for f in faults),
                           "mean_distance_to_standstill_m": _mean(f.get("distance_to_standstill_m") for f in faults)}
        out.append(entry)
    return out


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 2) if vals else None


COMPARED = (("passed", None), ("collisions", 0), ("violations", 0), ("min_distance_m", 2),
            ("mean_time_to_standstill_s", 2), ("mean_distance_to_standstill_m", 2))


def comparison_lines(comparison: list[dict[str, Any]]) -> list[str]:
    """The ``## Variants side by side`` section of report.md: each figure as ``a / b / ...`` in
    the order the header names the variants."""
    names = sorted({k for e in comparison for k in e if k != "scenario"}, key=lambda v: (v != "stack", v))
    order = " / ".join(names)
    lines = ["", "## Variants side by side", "",
             "The same scenarios run as the plain stack (its own perception), with ground truth given to the planner "
             "and the controller (`oracle`, `lsv suite --oracle`) and with outputs held back by compute time "
             "(`*_latency_*`, `lsv suite --latency`), as far as each variant's rows exist in this report folder "
             f"(each cell: {order}).", "",
             "| scenario | passed | collisions | violations | min distance (m) | mean to standstill (s) | "
             "mean distance to standstill (m) |", "|---|---|---|---|---|---|---|"]

    def cell(entry: dict[str, Any], key: str, nd: int | None) -> str:
        parts = []
        for name in names:
            v = entry.get(name)
            if v is None:
                parts.append("-")
            elif nd is None:
                parts.append(f"{v['passed']}/{v['runs']}")
            else:
                parts.append(_fmt(v[key], nd=nd))
        return " / ".join(parts)

    for e in comparison:
        lines.append(f"| {e['scenario']} | " + " | ".join(cell(e, k, nd) for k, nd in COMPARED) + " |")
    return lines


def print_table(suite: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(title="lsv suite")
    for col in ("scenario", "seed", "result", "collisions", "violations", "min dist (m)", "goal", "wall (s)",
                "problems"):
        table.add_column(col)
    for r in suite["runs"]:
        table.add_row(r["scenario"], str(r["seed"]), "[green]PASS[/]" if r["passed"] else "[red]FAIL[/]",
                      _fmt(r["collisions"]), _fmt(r["violations"]), _fmt(r["min_distance_m"], nd=2),
                      _fmt(r["goal_reached"]), _fmt(r.get("wall_s")), "; ".join(r["problems"])[:120])
    console.print(table)
    faults = fault_rows(suite["runs"])
    if faults:
        ft = Table(title="faults: injection -> standstill")
        for col in ("scenario", "seed", "fault", "at (s)", "to standstill (s)", "distance (m)", "/diagnostics"):
            ft.add_column(col)
        for f in faults:
            ft.add_row(f["scenario"], str(f["seed"]), f["fault"], _fmt(f["at_s"]),
                       _fmt(f["time_to_standstill_s"], nd=2), _fmt(f["distance_to_standstill_m"], nd=2),
                       (f["diagnostic"] or "none")[:60])
        console.print(ft)


# ------------------------------------------------------------------------------ the command

def run(ns: argparse.Namespace) -> int:
    from lsv_bringup.packages import workspace_root

    if ns.seeds < 1 or ns.jobs < 1:
        print("lsv suite: error: --seeds and --jobs must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    repo = workspace_root()
    if repo is None:
        print("lsv suite: error: cannot find the workspace (set LSV_WORKSPACE to the repository root)",
              file=sys.stderr)
        return EXIT_USAGE
    if ns.scenarios is None:
        from lsv_sim.scenario import SCENARIO_DIR

        folder = SCENARIO_DIR
    else:
        folder = ns.scenarios
    if not folder.is_dir():
        print(f"lsv suite: error: --scenarios {folder}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    report = ns.report.resolve()
    only = list(CI_SUBSET) if ns.subset == "ci" else ns.only
    skipped: list[str] = []
    variant = variant_name(ns.oracle, ns.latency)
    plan, problems = plan_runs(scenario_files(folder), ns.seeds, report, only, skipped, variant)
    for line in skipped:
        print(f"lsv suite: skipped {line}", flush=True)
    for p in problems:
        print(f"lsv suite: error: {p}", file=sys.stderr)
    if problems or not plan:
        if not plan and not problems:
            print(f"lsv suite: error: no scenario files in {folder}", file=sys.stderr)
        return EXIT_USAGE
    isolate = can_isolate(repo)
    jobs = ns.jobs
    if not isolate and jobs > 1:
        print("lsv suite: no network namespace per run can be made here: the simulated CAN buses of parallel runs "
              "would hear each other (python-can udp_multicast binds one port); running one at a time",
              file=sys.stderr)
        jobs = 1
    import yaml

    from lsv_sim.scenario import ScenarioError, load_scenario

    revision = code_revision(repo)
    if ns.resume and revision is None:
        print("lsv suite: --resume: src/ or launch/ has uncommitted changes (or no git): running everything",
              file=sys.stderr)
    rows: list[dict[str, Any] | None] = [None] * len(plan)
    hashes: list[str] = []
    for i, (spec, doc, _) in enumerate(plan):  # every document is valid before hours of runs start
        text = (f"# {spec.source}, suite seed {spec.seed} (lsv_sim.scenario.randomize)\n"
                + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120))
        hashes.append(document_hash(text))
        if ns.resume and (row := reusable_row(spec.folder, revision, hashes[i])) is not None:
            rows[i] = row
            continue
        path = fresh_run_folder(spec.folder, text)
        try:
            load_scenario(path)
        except ScenarioError as err:
            problems.append(str(err))
    for p in problems:
        print(f"lsv suite: error: {p}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    runner = Runner(repo, isolate, ns.timeout, ns.oracle, ns.latency)
    mode = "oracle" if ns.oracle else "stack"
    base = os.getpid() % 997
    resumed = sum(r is not None for r in rows)
    print(f"lsv suite: {len(plan)} run(s) ({len({s.source for s, _, _ in plan})} scenario(s) x {ns.seeds} seed(s)), "
          f"perception: {mode}, latency: {ns.latency}, {jobs} at a time, "
          f"{'each in its own network namespace' if isolate else 'on this network'}; "
          + (f"{resumed} taken from earlier runs of revision {revision} (--resume); " if resumed else "")
          + f"report in {report}", flush=True)
    free = list(range(jobs))
    t0 = time.monotonic()

    def one(i: int) -> None:
        spec, _, changes = plan[i]
        if runner.stopping.is_set():  # Ctrl-C: the runs not started yet are left out of the report
            return
        with runner.lock:
            slot = Slot(free.pop(), base)
        try:
            row = runner.run(spec, slot)
        finally:
            with runner.lock:
                free.append(slot.index)
        row["perturbation"] = changes
        row["revision"], row["document_hash"] = revision, hashes[i]
        if not runner.stopping.is_set():  # a run cut short by Ctrl-C is not a result: --resume runs it again
            (spec.folder / "row.json").write_text(json.dumps(row, indent=2) + "\n")
        rows[i] = row
        fl = "; ".join(f"{f['type']} standstill after {_fmt(f.get('time_to_standstill_s'), ' s', 2)}"
                       for f in row["faults"])
        print(f"lsv suite: [{sum(r is not None for r in rows)}/{len(plan)}] {spec.scenario} seed {spec.seed}: "
              f"{'PASS' if row['passed'] else 'FAIL'} ({row['wall_s']:.0f} s)" + (f"; {fl}" if fl else "")
              + ("" if row["passed"] else " - " + "; ".join(row["problems"])), flush=True)

    previous = signal.signal(signal.SIGINT, lambda *_: runner.stopping.set())
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, [i for i in execution_order(plan) if rows[i] is None]))
    finally:
        signal.signal(signal.SIGINT, previous)
    done = [r for r in rows if r is not None]
    if len(done) < len(plan):
        print(f"lsv suite: interrupted: {len(plan) - len(done)} run(s) not run", file=sys.stderr)
    suite = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scenarios": str(folder), "perception": mode, "latency": ns.latency, "variant": variant,
        "seeds": ns.seeds, "jobs": jobs, "isolated": isolate,
        "revision": revision, "resumed": resumed,
        "wall_s": round(time.monotonic() - t0, 1),
        "totals": {"runs": len(done), "passed": sum(r["passed"] for r in done),
                   "failed": sum(not r["passed"] for r in done),
                   "collisions": sum(r["collisions"] or 0 for r in done),
                   "violations": sum(r["violations"] or 0 for r in done),
                   "faults": len(fault_rows(done)),
                   "faults_without_standstill": sum(f["time_to_standstill_s"] is None for f in fault_rows(done))},
        "skipped": skipped,
        "runs": done,
    }
    others = other_variants(report, variant)
    if others:
        suite["comparison"] = compare_variants({variant: done, **others})
    report.mkdir(parents=True, exist_ok=True)
    suffix = "" if variant == "stack" else f"_{variant.removeprefix('stack_')}"
    (report / f"suite{suffix}.json").write_text(json.dumps(suite, indent=2) + "\n")
    (report / f"report{suffix}.md").write_text(markdown(suite, report))
    print_table(suite)
    t = suite["totals"]
    print(f"lsv suite: {variant}; {t['passed']} of {t['runs']} run(s) passed; {t['collisions']} "
          f"collision(s), {t['violations']} violation(s); report: {report / f'report{suffix}.md'}", flush=True)
    return 0 if t["failed"] == 0 and len(done) == len(plan) else 1
