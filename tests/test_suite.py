"""`lsv suite`: planning (scenario files x seeds), the launcher/simulator lines it acts on, the
verdict of a run, the reports; and the CI-sized subset end to end: a short delivery in which the
controller process is SIGKILLed while driving, with the whole stack in synchronous mode."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lsv_bringup import suite
from lsv_common.testing import needs_netns, private_ros_env

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "src/sim/scenarios"


def lsv(*args: str) -> list[str]:
    return [sys.executable, "-m", "lsv_bringup.cli", *args]


def test_plan_covers_every_shipped_scenario_and_fault_times_seeds(tmp_path: Path) -> None:
    files = suite.scenario_files(SCENARIOS)
    assert any(p.parent.name == "faults" for p in files) and SCENARIOS / "default.yaml" in files
    skipped: list[str] = []
    plan, problems = suite.plan_runs(files, 3, tmp_path, skipped=skipped)
    assert problems == []
    # the synthetic-world scenario has no Lanelet2 map for the planner: the simulator's own tests use it
    assert [line.split(":")[0] for line in skipped] == ["crossing_synthetic"]
    assert "no Lanelet2 map for the planner" in skipped[0]
    assert len(plan) == 3 * (len(files) - 1)
    folders = [spec.folder for spec, _, _ in plan]
    assert len(set(folders)) == len(folders)  # every run writes into its own folder
    kill = [(spec, doc) for spec, doc, _ in plan if spec.scenario == "kill_controller"]
    assert [spec.seed for spec, _ in kill] == [0, 1, 2]
    assert all(spec.kills and spec.kills[0][0] == "controller" for spec, _ in kill)
    assert kill[0][1]["faults"][0]["at_s"] == 12  # seed 0: the file as written
    assert 12.0 < kill[1][1]["faults"][0]["at_s"] <= 13.0 and kill[1][1]["seed"] == 21 * 1000 + 1


def test_runs_start_longest_first_and_the_order_is_stable(tmp_path: Path) -> None:
    plan, _ = suite.plan_runs(suite.scenario_files(SCENARIOS), 2, tmp_path)
    order = suite.execution_order(plan)
    assert sorted(order) == list(range(len(plan)))
    durations = [plan[i][0].duration_s for i in order]
    assert durations == sorted(durations, reverse=True)
    assert plan[order[0]][0].scenario == "patrol_loop" and plan[order[0]][0].seed == 0  # ties keep plan order
    assert plan[order[1]][0].scenario == "patrol_loop" and plan[order[1]][0].seed == 1


def test_resume_takes_a_row_only_for_the_same_code_and_document(tmp_path: Path) -> None:
    row = {"scenario": "kill_controller", "passed": True, "revision": "abc.def", "document_hash": "0123"}
    (tmp_path / "row.json").write_text(json.dumps(row))
    assert suite.reusable_row(tmp_path, "abc.def", "0123") == row
    assert suite.reusable_row(tmp_path, "abc.xyz", "0123") is None  # the code changed
    assert suite.reusable_row(tmp_path, "abc.def", "4567") is None  # the perturbed document changed
    assert suite.reusable_row(tmp_path, None, "0123") is None  # uncommitted changes: never
    assert suite.reusable_row(tmp_path / "missing", "abc.def", "0123") is None
    (tmp_path / "row.json").write_text("{truncated")
    assert suite.reusable_row(tmp_path, "abc.def", "0123") is None
    assert suite.document_hash("a: 1\n") != suite.document_hash("a: 2\n")


def test_a_run_that_runs_again_starts_from_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "kill_controller" / "seed3"
    (folder / "log").mkdir(parents=True)
    for stale in ("log/can_bridge.log", "run_info.txt", "row.json", "summary.json", "trajectory.png"):
        (folder / stale).write_text("from an earlier attempt")
    path = suite.fresh_run_folder(folder, "name: x\n")
    assert path == folder / "scenario.yaml" and path.read_text() == "name: x\n"
    assert [p.name for p in folder.iterdir()] == ["scenario.yaml"]
    fresh = suite.fresh_run_folder(tmp_path / "runs" / "new" / "seed0", "name: y\n")  # no folder yet
    assert fresh.read_text() == "name: y\n"


def test_code_revision_follows_the_trees_and_refuses_a_dirty_one(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    for name in ("src/a.py", "launch/x.yaml", "README.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("one\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    first = suite.code_revision(tmp_path)
    assert first is not None and first.count(".") == 1
    (tmp_path / "README.md").write_text("two\n")  # outside src/ and launch/: the same revision
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "docs")
    assert suite.code_revision(tmp_path) == first
    (tmp_path / "src/a.py").write_text("two\n")
    assert suite.code_revision(tmp_path) is None  # uncommitted
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "code")
    assert suite.code_revision(tmp_path) not in (None, first)
    assert suite.code_revision(tmp_path / "no_repo") is None


def test_plan_only_and_its_errors(tmp_path: Path) -> None:
    files = suite.scenario_files(SCENARIOS)
    plan, problems = suite.plan_runs(files, 1, tmp_path, ["kill_controller", "delivery_red_light", "nope"])
    assert sorted(spec.scenario for spec, _, _ in plan) == ["delivery_red_light", "kill_controller"]
    assert problems == ["--only nope: no scenario file or scenario of that name"]
    ci, problems = suite.plan_runs(files, 1, tmp_path, list(suite.CI_SUBSET))
    assert problems == [] and len(ci) == len(suite.CI_SUBSET)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    _, problems = suite.plan_runs([bad], 1, tmp_path)
    assert len(problems) == 1 and "not valid YAML" in problems[0]


def test_lines_the_suite_acts_on() -> None:
    line = "[lsv] started /controller (lsv_control/controller, pid 4242, log /tmp/x/controller.log)\n"
    assert suite.parse_started(line) == ("controller", 4242)
    assert suite.parse_started("[controller] [lsv] started /x (pid 1)") is None
    warn = "[simulator] [WARN] [1795619013.95] [simulator]: FAULT kill_node controller at t = 12.000 s\n"
    assert suite.parse_kill(warn) == "controller"
    assert suite.parse_kill("[simulator] [INFO] t = 5.0 / 30 s") is None


def test_slots_of_parallel_runs_never_share_a_domain_group_or_port() -> None:
    slots = [suite.Slot(i, 123) for i in range(16)]
    for attr in ("domain_id", "can_channel", "v2x_port"):
        assert len({getattr(s, attr) for s in slots}) == 16, attr
    assert all(1 <= s.domain_id <= 101 and s.can_channel.startswith("239.") for s in slots)


def _spec(tmp_path: Path, kills=()) -> suite.RunSpec:
    return suite.RunSpec("kill_controller", SCENARIOS / "faults/kill_controller.yaml", 0, tmp_path / "run", 30.0,
                         tuple(kills))


SUMMARY = {"passed": True, "checks": [{"name": "no_collision", "passed": True, "value": 0, "limit": 0}],
           "collisions": [], "red_light_violations": [], "stop_line_violations": [],
           "crosswalk_yield_violations": [{"t_s": 3.0}], "min_distance_m": {"a": {"distance_m": 2.5},
                                                                            "b": {"distance_m": 1.5}},
           "goal_reached": False, "distance_m": 40.0,
           "faults": [{"type": "kill_node", "target": "controller", "at_s": 12.0, "speed_at_injection_mps": 4.0,
                       "time_to_standstill_s": 1.6, "distance_to_standstill_m": 3.2,
                       "distance_after_injection_m": 3.2,
                       "diagnostic": {"t_s": 12.4, "text": "can_bridge: command: WARN sending a braking command",
                                      "delay_s": 0.4}}]}


def _launch(**failed) -> dict:
    names = ("can_bridge", "v2x_client", "planner", "localizer", "controller", "simulator")
    return {"nodes": [{"node": f"/{n}", "failed": failed.get(n, False), "starts": 2 if failed.get(n) == "respawned"
                       else 1} for n in names]}


def test_judge_a_run(tmp_path: Path) -> None:
    kills = [("controller", 12.0)]
    ok = suite.judge(_spec(tmp_path, kills), SUMMARY, _launch(controller=True), 1, {"controller": {"pid": 1}}, False)
    assert ok["passed"], ok["problems"]
    assert ok["violations"] == 1 and ok["min_distance_m"] == 1.5 and ok["collisions"] == 0
    crash = suite.judge(_spec(tmp_path, kills), SUMMARY, _launch(controller=True, planner=True), 1,
                        {"controller": {"pid": 1}}, False)
    assert not crash["passed"] and crash["crashed"] == ["planner"]
    respawn = suite.judge(_spec(tmp_path), SUMMARY, _launch(localizer="respawned"), 0, {}, False)
    assert respawn["problems"] == ["nodes died that were not killed: localizer"]
    not_killed = suite.judge(_spec(tmp_path, kills), SUMMARY, _launch(), 0, {}, False)
    assert not_killed["problems"] == ["kill_node controller was not executed"]
    failed = suite.judge(_spec(tmp_path), {**SUMMARY, "passed": False, "checks": [
        {"name": "stops_within_s.kill_node.controller", "passed": False, "value": None, "limit": 5.0}]},
        _launch(), 3, {}, False)
    assert failed["problems"] == ["stops_within_s.kill_node.controller failed (None, limit 5.0)"]
    gone = suite.judge(_spec(tmp_path), None, None, -2, {}, True)
    assert gone["problems"] == ["timed out", "no summary.json", "no launcher report.json", "lsv sim exit status -2"]


def test_judge_takes_the_launchers_reported_status_over_a_teardown_hang(tmp_path: Path) -> None:
    # middleware.close_within ends a launcher whose middleware hangs after its report with status 1
    hung_after_pass = suite.judge(_spec(tmp_path), SUMMARY, {**_launch(), "exit_status": 0}, 1, {}, False)
    assert hung_after_pass["passed"], hung_after_pass["problems"]
    assert hung_after_pass["exit_status"] == 1 and hung_after_pass["launcher_status"] == 0
    failed_run = suite.judge(_spec(tmp_path), SUMMARY, {**_launch(), "exit_status": 2}, 1, {}, False)
    assert failed_run["problems"] == ["lsv sim exit status 2"]
    no_report = suite.judge(_spec(tmp_path), SUMMARY, None, 1, {}, False)
    assert "lsv sim exit status 1" in no_report["problems"]


def test_a_run_that_ignores_its_sigint_is_killed_after_the_grace(tmp_path: Path, monkeypatch) -> None:
    # a process stuck in C code that holds the GIL never runs its SIGINT handler
    monkeypatch.setattr(suite, "RUN_KILL_GRACE_S", 1.0)
    runner = suite.Runner(REPO, isolate=False, timeout_s=1.0)
    hang = ("import ctypes, signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}); "
            "print('started', flush=True); ctypes.PyDLL(None).sleep(60)")
    monkeypatch.setattr(runner, "command", lambda spec, slot: [sys.executable, "-c", hang])
    spec = _spec(tmp_path)
    spec.folder.mkdir(parents=True)
    t0 = time.monotonic()
    row = runner.run(spec, suite.Slot(0, 0))
    assert time.monotonic() - t0 < 30.0
    assert row["exit_status"] == -signal.SIGKILL and "timed out" in row["problems"] and not row["passed"]


def test_report_markdown_links_each_run_and_lists_the_faults(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [("controller", 12.0)])
    spec.folder.mkdir(parents=True)
    (spec.folder / "trajectory.png").write_bytes(b"png")
    row = suite.judge(spec, SUMMARY, _launch(controller=True), 1, {"controller": {"pid": 1}}, False)
    row["wall_s"] = 80.0
    data = {"finished_at": "now", "seeds": 1, "jobs": 1, "isolated": True, "wall_s": 80.0, "runs": [row],
            "totals": {"passed": 1, "failed": 0, "collisions": 0, "violations": 1}}
    text = suite.markdown(data, tmp_path)
    assert "[kill_controller](run/summary.json) | 0 | PASS" in text
    assert "[trajectory](run/trajectory.png)" in text and "speed_accel" not in text
    assert "| kill_controller | 0 | kill_node controller | 12.0 | 4.00 | 1.60 | 3.20 | 3.2 | " \
           "can_bridge: command: WARN sending a braking command (0.40) |" in text


def test_comfort_figures_reach_suite_json_and_both_reports(tmp_path: Path) -> None:
    """From the simulator's own evaluation (a stop from 3 m/s: 1 m/s^3 into 1.5 m/s^2, which ends at
    once at standstill; one emergency interval later) to the suite row and both report.md files."""
    import numpy as np

    from lsv_bringup.report import write_report
    from lsv_sim.comfort import ExcludedInterval
    from lsv_sim.core import EgoShape, Trace
    from lsv_sim.evaluation import evaluate, summary_json
    from lsv_sim.scenario import parse_scenario

    dt, n = 0.01, 600
    t = np.arange(n) * dt
    speed, accel = np.zeros(n), np.zeros(n)
    v = 3.0
    for k in range(n):
        accel[k] = -min(max(t[k] - 1.0, 0.0), 1.5) if v > 0.0 else 0.0
        v = speed[k] = max(v + accel[k] * dt, 0.0)
    t_stop = t[np.argmax(speed == 0.0)]
    tr = Trace(0, 0, capacity=n)
    for k in range(n):
        tr.append((t[k], float(np.sum(speed[:k]) * dt), 0.0, 0.0, speed[k], accel[k], 0.0, 0.0), np.zeros((0, 4)),
                  np.zeros(0, np.int8))
    sc = parse_scenario({"name": "stop", "duration_s": 6, "map": {"world": "synthetic", "bounds_m": [-9, -9, 50, 9]},
                         "ego": {"start": {"x": 0, "y": 0}}, "pass": {"max_comfort_jerk_mps3": 2.5}}, "stop.yaml")
    summary = evaluate(sc, tr, EgoShape(), excluded=[ExcludedInterval(5.0, None, "chassis ECU mode FAULT")])
    spec = _spec(tmp_path)
    spec.folder.mkdir(parents=True)
    (spec.folder / "summary.json").write_text(summary_json(summary))
    (spec.folder / "speed_accel.png").write_bytes(b"png")
    row = suite.judge(spec, summary, _launch(), 3, {}, False)
    c = row["comfort"]
    assert c["jerk_max_mps3"] == pytest.approx(15.0, rel=0.03) and c["jerk_max_t_s"] == pytest.approx(t_stop, abs=0.1)
    assert c["stop_and_go_cycles"] == 0 and c["lateral_accel_max_mps2"] == 0.0 and c["emergency_intervals"] == 1
    assert c["emergency_excluded_s"] == pytest.approx(1.2, abs=0.02)  # 5.0 - 0.2 s to the end
    assert "max_comfort_jerk_mps3 failed (15.0, limit 2.5)" in row["problems"]
    row["wall_s"] = 10.0
    data = {"finished_at": "now", "seeds": 1, "jobs": 1, "isolated": True, "wall_s": 10.0, "runs": [row],
            "totals": {"passed": 0, "failed": 1, "collisions": 0, "violations": 0}}
    text = suite.markdown(data, tmp_path)
    assert "## Comfort" in text
    assert f"| kill_controller | 0 | 15.00 | {c['jerk_max_t_s']:.1f} | 1.00 | 1.50 | 0.00 | 0.00 | 0 | 1.2 | " \
           "[speed_accel](run/speed_accel.png) |" in text
    assert json.loads(json.dumps(row))["comfort"] == c  # suite.json carries it
    _, md = write_report(spec.folder, Path("sim.launch.yaml"), 10.0, 0, [], None, 1.0)
    run_md = md.read_text()
    assert "## Ride comfort" in run_md
    assert f"max_comfort_jerk_mps3: FAIL (limit 2.5 m/s^3) | 15.00 at {c['jerk_max_t_s']:.1f} s |" in run_md
    assert "| stop-and-go cycles | 0 |" in run_md
    _, bare = write_report(tmp_path / "plain", Path("stack.launch.yaml"), 1.0, 0, [], None, 1.0)
    assert "Ride comfort" not in bare.read_text()  # not a simulator run: no section


def test_variants_live_apart_and_the_report_compares_them(tmp_path: Path) -> None:
    files = [SCENARIOS / "faults" / "kill_controller.yaml"]
    specs = {}
    for variant in ("stack", "oracle", "stack_latency_fixed"):
        plan, _ = suite.plan_runs(files, 1, tmp_path, variant=variant)
        specs[variant] = plan[0][0]
    assert specs["stack"].folder.parent.parent == tmp_path / "runs"
    assert specs["oracle"].folder.parent.parent == tmp_path / "runs_oracle"
    assert specs["stack_latency_fixed"].folder.parent.parent == tmp_path / "runs_latency_fixed"
    assert suite.variant_name(True, "none") == "oracle" and suite.variant_name(False, "fixed") == "stack_latency_fixed"
    slot = suite.Slot(0, 1)
    assert "--oracle" in suite.Runner(REPO, False, None, oracle=True).command(specs["oracle"], slot)
    command = suite.Runner(REPO, False, None, latency="fixed").command(specs["stack_latency_fixed"], slot)
    assert command[command.index("--latency") + 1] == "fixed" and "--oracle" not in command
    assert "--latency" not in suite.Runner(REPO, False, None).command(specs["stack"], slot)

    def row(variant, passed, dist, stop_s):
        spec = specs[variant]
        checks = [{"name": "min_distance_m.a", "passed": passed, "value": dist, "limit": 1.5}]
        summary = {"passed": passed, "perception": variant.split("_")[0], "collisions": [], "checks": checks,
                   "min_distance_m": {"a": {"distance_m": dist}},
                   "faults": [{"type": "kill_node", "target": "controller", "time_to_standstill_s": stop_s,
                               "distance_to_standstill_m": 2 * stop_s}]}
        r = suite.judge(spec, summary, {"nodes": [], "exit_status": 0}, 0, {"controller": {"pid": 1}}, False)
        spec.folder.mkdir(parents=True, exist_ok=True)
        (spec.folder / "row.json").write_text(json.dumps(r))
        return r

    stack_row = row("stack", False, 0.8, 2.5)
    row("oracle", True, 3.0, 1.5)
    row("stack_latency_fixed", True, 2.0, 2.0)
    assert stack_row["perception"] == "stack" and not stack_row["passed"]
    others = suite.other_variants(tmp_path, "stack")
    assert sorted(others) == ["oracle", "stack_latency_fixed"]
    comparison = suite.compare_variants({"stack": [stack_row], **others})
    assert comparison[0]["stack"] == {"runs": 1, "passed": 0, "collisions": 0, "violations": 0, "min_distance_m": 0.8,
                                      "mean_time_to_standstill_s": 2.5, "mean_distance_to_standstill_m": 5.0}
    assert comparison[0]["oracle"]["passed"] == 1 and comparison[0]["stack_latency_fixed"]["min_distance_m"] == 2.0
    text = "\n".join(suite.comparison_lines(comparison))
    assert "(each cell: stack / oracle / stack_latency_fixed)" in text
    assert ("| kill_controller | 0/1 / 1/1 / 1/1 | 0 / 0 / 0 | 0 / 0 / 0 | 0.80 / 3.00 / 2.00 | 2.50 / 1.50 / 2.00 | "
            "5.00 / 3.00 / 4.00 |") in text


def test_cli_usage_errors(tmp_path: Path) -> None:
    r = subprocess.run(lsv("suite", "--only", "no_such_scenario", "--report", str(tmp_path)), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "--only no_such_scenario: no scenario file" in r.stderr
    r = subprocess.run(lsv("suite", "--seeds", "0", "--report", str(tmp_path)), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "--seeds and --jobs must be >= 1" in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    doc = {**CI_SCENARIO, "actors": [{"id": "a", "type": "bicycle", "waypoints": [[-100, -1.75]]}]}
    (bad / "x.yaml").write_text(yaml.safe_dump(doc))
    r = subprocess.run(lsv("suite", "--scenarios", str(bad), "--seeds", "2", "--report", str(tmp_path / "r")),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "actors[0].type: expected an actor type" in r.stderr, r.stderr
    assert not (tmp_path / "r" / "suite.json").exists()  # nothing ran
    r = subprocess.run(lsv("sim", "--scenario", "crossing_synthetic", "--report", str(tmp_path / "s")),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "map.world is synthetic: no Lanelet2 map for the planner" in r.stderr, r.stderr
    assert not (tmp_path / "s" / "summary.json").exists()
    parser = argparse.ArgumentParser()
    suite.add_arguments(parser)
    ns = parser.parse_args(["--subset", "ci", "--jobs", "2"])
    assert ns.subset == "ci" and ns.jobs == 2 and ns.seeds == 1 and ns.report == Path("suite_report")


# A short version of faults/kill_controller: district, the controller killed 9 s in (the CI budget
# of `make test` allows one such run: ~1-2 min wall on 2 cores in sync mode).
CI_SCENARIO = {
    "name": "ci_kill_controller", "description": "CI: the controller is SIGKILLed while driving",
    "duration_s": 16, "seed": 5, "map": {"world": "district"}, "ego": {"start": {"place": "depot"}},
    "mission": {"goals": [{"id": "parcel-drop", "x": -1.75, "y": -72.9, "yaw_deg": -90, "kind": "stop"}]},
    "faults": [{"type": "kill_node", "target": "controller", "at_s": 9}],
    "pass": {"no_collision": True, "stops_within_s": 5.0, "diagnostic_reported": True},
}


@pytest.mark.slow
@needs_netns
def test_suite_kills_the_controller_and_reports_the_stop(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "ci_kill_controller.yaml").write_text(yaml.safe_dump(CI_SCENARIO))
    report = tmp_path / "report"
    r = subprocess.run(lsv("suite", "--scenarios", str(folder), "--report", str(report), "--timeout", "400"),
                       env=private_ros_env(), capture_output=True, text=True, timeout=480)
    data = json.loads((report / "suite.json").read_text())
    run = data["runs"][0]
    out = r.stdout[-4000:] + r.stderr[-2000:]
    # the suite executed the kill: the launcher saw the controller die by SIGKILL, nothing else died
    assert run["killed"]["controller"].get("signal") == "SIGKILL", out
    launch = json.loads(Path(run["folder"], "report.json").read_text())
    nodes = {n["node"]: n for n in launch["nodes"]}
    assert nodes["/controller"]["exit_codes"][0] == -9 and nodes["/controller"]["failed"]
    assert run["crashed"] == [], out
    # physical outcome after the kill: the chassis braked by itself (no commands) to a standstill
    fault = run["faults"][0]
    assert fault["type"] == "kill_node" and fault["target"] == "controller" and fault["injected"]
    # the stack drove off before the kill (else the stop below would prove nothing)
    assert fault["speed_at_injection_mps"] > 0.5, (fault, out)
    assert fault["time_to_standstill_s"] is not None and fault["time_to_standstill_s"] <= 5.0, fault
    summary = json.loads(Path(run["folder"], "summary.json").read_text())
    assert summary["collisions"] == []
    # the verdict, the report files and the exit status agree
    assert run["passed"] == (r.returncode == 0) == (data["totals"]["failed"] == 0), out
    assert "## Faults" in (report / "report.md").read_text()
    assert (Path(run["folder"]) / "scenario.yaml").is_file()
    row = json.loads(Path(run["folder"], "row.json").read_text())
    assert row["passed"] == run["passed"] and row["revision"] == data["revision"]
    if data["revision"] is not None:  # a clean checkout (CI): --resume takes the run instead of repeating it
        again = subprocess.run(lsv("suite", "--scenarios", str(folder), "--report", str(report), "--resume"),
                               env=private_ros_env(), capture_output=True, text=True, timeout=120)
        assert "1 taken from earlier runs" in again.stdout, again.stdout[-2000:] + again.stderr[-2000:]
        resumed = json.loads((report / "suite.json").read_text())
        assert resumed["resumed"] == 1 and resumed["runs"][0]["faults"] == data["runs"][0]["faults"]
        assert again.returncode == r.returncode
