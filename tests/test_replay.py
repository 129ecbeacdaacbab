"""Replay tests: the CI bags of tests/data/ (recorded from the simulator in synchronous mode by
tools/record_ci_bags.py) played through the planner, controller and localizer with
``use_sim_time``; outputs checked against the ground truth in the bag (stated bounds) and against
the reference stored next to the bag (regression, like openpilot's process replay: a changed
decision fails and the diff is printed). ``pytest tests/test_replay.py --update-refs`` rewrites
the references on purpose (after a deliberate behaviour change or a re-recording).

Multi-process: run inside scripts/netns_sandbox.sh (make test does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/replay/: pytest runs with --import-mode=importlib
from replay import compare
from replay.harness import CONTROLLER, LOCALIZER, PLANNER, replay, replayed

DATA = Path(__file__).resolve().parent / "data"
NS = 1_000_000_000
RATE = 1.0  # playback speed (simulated s per wall s): the nodes' timers must keep up on a loaded 2-core machine
# the part of each bag replayed (start s, duration s): what the checks need, to keep make test short
WINDOWS = {"red_light_crosswalk": (12.0, 23.0),  # approach to the red light .. driving on after the crosswalk
           "emergency_vehicle": (0.0, 22.0),  # at rest, first V2X message, pulling over .. the ambulance passing
           "gnss_dropout": (0.0, 25.0)}  # from rest (the localizer initialises at rest), GNSS, 10 s without
EMERGENCY_MIN_S = 2.5  # s, shortest emergency state (yielding, clearing, normal) compared with the reference
SETTLE_S = 2.5  # s after a window's start that are not compared: a node started mid-drive collects its inputs
BAGS = ("red_light_crosswalk", "emergency_vehicle", "gnss_dropout")
MAX_DATA_MB = 30.0

# ground-truth bounds (stated in tests/data/README.md)
RED_LIGHT_STOP_BEFORE_LINE_M = (0.0, 6.0)  # planned stop (vehicle reference point) this far before the line
# The localizer's odometry is about 0.9 m from the simulator's ground-truth reference point all the
# time (measured on the recording, GNSS or not: a frame offset, rear axle vs the truth's reference),
# so the bounds include it.
# The replayed localizer is starved like any process on a loaded machine (measured with GNSS:
# p95 1.0-1.6 m over three replays at load 30-40), hence the margins; a localizer that loses GNSS
# or dead reckoning is off by tens of metres.
LOCALIZER_P95_M = 2.5  # m, position error p95 over the window
LOCALIZER_OUTSIDE_DROPOUT_P95_M = 2.0  # m, with GNSS
LOCALIZER_DROPOUT_MAX_M = 4.0  # m, up to 20 s without GNSS (wheel odometry + IMU only)
CMD_LIMITS = {"accel": (-3.5, 2.0), "steer": 0.55, "steer_rate": 0.8, "speed": 4.17}  # controller's command gate


@pytest.fixture
def update_refs(request) -> bool:
    return bool(request.config.getoption("--update-refs", default=False))


def facts(name: str) -> dict:
    return json.loads((DATA / f"{name}.scenario.json").read_text())


def read_bag(name: str, topics: list[str]) -> tuple[int, dict[str, list]]:
    from lsv_bringup.player import BagSource

    with BagSource(DATA / name) as src:
        return src.start_ns, src.read_all(topics)


def check(section: str, name: str, got: dict, update: bool, comparer) -> None:
    """Compare ``got`` with the reference section, or write it with --update-refs."""
    path = DATA / f"{name}.ref.json"
    if update:
        compare.save_ref(path, section, got)
        return
    ref = compare.load_ref(path)
    assert section in ref, f"{path} has no '{section}' section: run with --update-refs"
    problems = comparer(got, ref[section])
    assert not problems, f"{name}: {section} differs from the reference {path.name}:\n" + "\n".join(problems)


# -- the data itself: any rosbag2 reader opens it ------------------------------------------------


def test_ci_bags_are_small_and_readable_by_rosbags_alone():
    """Read every bag with rosbags only (no lsv code), by type name from the embedded definitions."""
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    ours = [p for name in BAGS for p in (*(DATA / name).iterdir(), *DATA.glob(f"{name}.*.json"))]
    total = sum(p.stat().st_size for p in ours)
    assert total / 1e6 <= MAX_DATA_MB, f"the replay bags hold {total / 1e6:.1f} MB, more than {MAX_DATA_MB} MB"
    for name in BAGS:
        store = get_typestore(Stores.EMPTY)
        seen: dict[str, int] = {}
        with Reader(DATA / name) as reader:
            for conn in reader.connections:
                assert conn.msgdef.data, f"{name}: no definition embedded for {conn.msgtype}"
                store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
            for conn, _, raw in reader.messages():  # the first message of every topic decodes
                if conn.topic not in seen:
                    store.deserialize_cdr(raw, conn.msgtype)
                    seen[conn.topic] = conn.msgcount
                if len(seen) == len(reader.connections):
                    break
        for gt in ("/sim/ground_truth/odometry", "/sim/ground_truth/objects", "/sim/ground_truth/traffic_signals",
                   "/clock", "/planning/mission_goal"):
            assert seen.get(gt), f"{name}: no {gt}"
        assert facts(name)["summary"]["completed"], f"{name}: the recorded scenario did not run to its end"


# -- planner ----------------------------------------------------------------------------------


def _gt_x(odom: list, t_ns: np.ndarray) -> np.ndarray:
    t = np.array([m.header.stamp.sec * NS + m.header.stamp.nanosec for _, m in odom])
    return np.interp(t_ns, t, [m.pose.pose.position.x for _, m in odom])


def _light_red(signals: list, intersection: int, phase: int) -> tuple[np.ndarray, np.ndarray]:
    """(sim ns, is red) of one signal group from the ground-truth TrafficSignalArray topic."""
    t, red = [], []
    for ts, arr in signals:
        for s in arr.signals:
            if s.intersection_id == intersection and s.phase_id == phase:
                t.append(ts)
                red.append(s.state == 3)  # STATE_RED
    return np.array(t), np.array(red)


@pytest.mark.slow
def test_red_light_and_crosswalk_planner_and_controller(tmp_path, update_refs):
    name = "red_light_crosswalk"
    result = replay(DATA / name, [PLANNER, CONTROLLER], RATE, tmp_path, *WINDOWS[name])
    t0, bag = read_bag(name, ["/sim/ground_truth/odometry", "/sim/ground_truth/traffic_signals", "/vehicle/command"])
    decs = compare.decisions(result.outputs[replayed("/planning/decision")], t0)
    assert len(decs) > 10, "the planner published (almost) no decision:\n" + result.logs["planner"][-3000:]

    # ground truth: the planner stops for the red light at the stop line, and only while it is red
    line = facts(name)["stop_lines"]["10059"]
    line_x = float(np.mean([p[0] for p in line["points"]]))
    t_sig, red = _light_red(bag["/sim/ground_truth/traffic_signals"], line["intersection_id"], line["phase_id"])
    green_ns = int(t_sig[np.argmax(~red)]) if (~red).any() else None
    assert green_ns is not None and red[0], "the bag does not start on red and turn green"
    t_dec = np.array([t0 + round(d["t"] * NS) for d in decs])
    x_ego = _gt_x(bag["/sim/ground_truth/odometry"], t_dec)
    # decisions with a route (odometry and mission known: the node's first ones after start have neither)
    # (and not stopping for stale inputs first: a late objects message puts a nearer objects_stale stop there)
    late_inputs = compare.STALE_REASONS - {"unknown_signal"}
    routed = [(d, t, x) for d, t, x in zip(decs, t_dec, x_ego, strict=True)
              if d.get("route") and (d.get("stop") or {}).get("reason") not in late_inputs]
    # a stop for the light: red_light, or unknown_signal at the same line when the V2X signal state
    # came late (it did on a loaded machine): both stop the vehicle at the line
    red_stops = [(x + d["stop"]["distance_m"]) for d, t, x in routed if t < green_ns and line_x - 40 < x < line_x
                 and (d.get("stop") or {}).get("reason") in ("red_light", "unknown_signal")]
    approaching = sum(1 for _, t, x in routed if t < green_ns and line_x - 40 < x < line_x)
    assert approaching and len(red_stops) >= 0.9 * approaching, \
        f"red light ahead in {approaching} decisions, a red_light stop in only {len(red_stops)}"
    before = line_x - np.median(red_stops)
    lo, hi = RED_LIGHT_STOP_BEFORE_LINE_M
    assert lo <= before <= hi, f"red-light stop planned {before:.2f} m before the stop line, expected {lo}-{hi} m"
    after_green = [d for d, t in zip(decs, t_dec, strict=True) if t > green_ns + 2 * NS]
    assert after_green and not any((d.get("stop") or {}).get("reason") == "red_light" for d in after_green), \
        "the planner still stops for the light 2 s after it turned green"

    # regression: the decision sequence and where the stops are
    summary = compare.planner_summary(decs, WINDOWS[name][0] + SETTLE_S)
    check("planner", name, summary, update_refs,
          lambda g, r: compare.compare_events(g["events"], r["events"]) + compare.compare_stops(g["stop_s_m"],
                                                                                                  r["stop_s_m"]))

    # controller: every command inside the command gate's limits, and the same state sequence
    cmds = result.outputs[replayed("/vehicle/command")]
    assert len(cmds) > 100, "the controller published (almost) no command:\n" + result.logs["controller"][-3000:]
    acc = np.array([c.acceleration_mps2 for _, c in cmds])
    assert CMD_LIMITS["accel"][0] - 1e-3 <= acc.min() and acc.max() <= CMD_LIMITS["accel"][1] + 1e-3
    assert max(abs(c.steering_angle_rad) for _, c in cmds) <= CMD_LIMITS["steer"] + 1e-3
    assert max(abs(c.steering_rate_rps) for _, c in cmds) <= CMD_LIMITS["steer_rate"] + 1e-3
    assert max(c.speed_limit_mps for _, c in cmds) <= CMD_LIMITS["speed"] + 1e-3
    ctl = compare.controller_summary(result.outputs[replayed("/control/mrm_state")], cmds, t0)
    check("controller", name, ctl, update_refs, compare.compare_controller)


@pytest.mark.slow
def test_emergency_vehicle_planner(tmp_path, update_refs):
    name = "emergency_vehicle"
    result = replay(DATA / name, [PLANNER], RATE, tmp_path, *WINDOWS[name])
    t0, bag = read_bag(name, ["/sim/ground_truth/objects", "/sim/ground_truth/odometry"])
    decs = compare.decisions(result.outputs[replayed("/planning/decision")], t0)
    assert len(decs) > 10, "the planner published (almost) no decision:\n" + result.logs["planner"][-3000:]
    # ground truth: the emergency vehicle is in the bag, and the planner reacts to it while it is
    # ground truth: when the emergency vehicle passes the ego, the planner has it yielding
    t_pass = None
    odom = bag["/sim/ground_truth/odometry"]
    for ts, arr in bag["/sim/ground_truth/objects"]:
        amb = [o.pose.pose.position.x for o in arr.objects if o.classification == 8]
        if amb and amb[0] > _gt_x(odom, np.array([ts]))[0]:
            t_pass = (ts - t0) / NS
            break
    assert t_pass is not None, "the emergency vehicle never passes the ego in the ground truth"
    at_pass = [d for d in decs if t_pass - 1.0 <= d["t"] <= t_pass]
    assert at_pass and all(d.get("emergency") == "yielding" and d["state"] in ("stopping", "stopped")
                           for d in at_pass), \
        f"not yielding when the emergency vehicle passes at {t_pass:.1f} s: " + \
        str([(d["t"], d["state"], d.get("emergency")) for d in at_pass])
    settle = WINDOWS[name][0] + SETTLE_S
    summary = compare.planner_summary(decs, settle)
    # the emergency state drops to normal for 1-2 s when the V2X hints reach a starved planner late:
    # states shorter than EMERGENCY_MIN_S are not compared
    summary["emergency_events"] = compare.planner_events(
        [{**d, "state": d.get("emergency", "normal"), "reason": "emergency"} for d in decs], settle, EMERGENCY_MIN_S)
    check("planner", name, summary, update_refs,
          lambda g, r: compare.compare_events(g["events"], r["events"])
          + compare.compare_events(g["emergency_events"], r["emergency_events"], coarse=False)
          + compare.compare_stops(g["stop_s_m"], r["stop_s_m"]))


# -- localizer --------------------------------------------------------------------------------


@pytest.mark.slow
def test_gnss_dropout_localizer(tmp_path, update_refs):
    name = "gnss_dropout"
    result = replay(DATA / name, [LOCALIZER], RATE, tmp_path, *WINDOWS[name])
    t0, bag = read_bag(name, ["/sim/ground_truth/odometry"])
    est = result.outputs[replayed("/localization/odometry")]
    assert len(est) > 100, "the localizer published (almost) no odometry:\n" + result.logs["localizer"][-3000:]
    t, err = compare.position_errors(compare.odometry_xy(est), compare.odometry_xy(bag["/sim/ground_truth/odometry"]))
    settled = t >= t0 + round((WINDOWS[name][0] + SETTLE_S) * NS)  # initialising first
    t, err = t[settled], err[settled]
    fault = next(f for f in facts(name)["faults"] if f["type"] == "gnss_dropout")
    summary = compare.localizer_summary(t, err, t0, (fault["at_s"], fault["at_s"] + fault["duration_s"]))
    assert summary["p95_m"] <= LOCALIZER_P95_M, summary
    assert summary["outside_p95_m"] <= LOCALIZER_OUTSIDE_DROPOUT_P95_M, summary
    assert summary["dropout_max_m"] <= LOCALIZER_DROPOUT_MAX_M, summary
    check("localizer", name, summary, update_refs, lambda g, r: compare.compare_errors(g, r, rel=0.75, abs_m=0.5))


# -- the comparison itself: a real change fails with a readable diff, jitter does not ------------


def _decision(t: float, state: str, reason: str, stop_reason: str | None = None, stop_at: float = 0.0) -> dict:
    d = {"t": t, "state": state, "reason": reason, "route": {"s_m": 100.0}}
    if stop_reason:
        d["stop"] = {"reason": stop_reason, "distance_m": stop_at - 100.0}
    return d


def _run(stop_at: float, red_until: float, flicker: bool = False, shift: float = 0.0) -> list[dict]:
    decs = []
    for i in range(300):
        t = i / 10 + shift
        if t < red_until:
            state, reason = ("stopped" if t > red_until - 5 else "stopping"), "red_light"
            if flicker and i == 40:
                state, reason = "driving", "cruise"  # one late decision: 0.1 s of jitter
            decs.append(_decision(t, state, reason, "red_light", stop_at))
        else:
            decs.append(_decision(t, "driving", "cruise", "goal", 300.0))
    return decs


def test_regression_comparison_catches_real_changes_and_ignores_jitter():
    ref = compare.planner_summary(_run(134.7, 20.0))
    same = compare.planner_summary(_run(134.9, 20.0, flicker=True, shift=0.3))
    assert compare.compare_events(same["events"], ref["events"]) == []
    assert compare.compare_stops(same["stop_s_m"], ref["stop_s_m"]) == []
    later = compare.planner_summary(_run(139.7, 20.0))  # stops 5 m later
    assert any("moved +5.00 m" in p for p in compare.compare_stops(later["stop_s_m"], ref["stop_s_m"]))
    no_stop = compare.planner_summary([_decision(i / 10, "driving", "cruise", "goal", 300.0) for i in range(300)])
    problems = compare.compare_events(no_stop["events"], ref["events"])
    assert problems[0] == "decision sequence changed:" and "-red_light" in problems, problems
    assert "'stopped          red_light' no longer reached" in problems
    assert any("no longer planned" in p for p in compare.compare_stops(no_stop["stop_s_m"], ref["stop_s_m"]))
    slow = compare.planner_summary(_run(134.7, 24.0))  # the light's stop released 4 s late
    assert compare.compare_events(compare.planner_summary(_run(134.7, 21.5))["events"], ref["events"]) == []
    late = compare.compare_events(slow["events"], ref["events"])
    assert any("'cruise' at 24.00 s" in p for p in late), late
