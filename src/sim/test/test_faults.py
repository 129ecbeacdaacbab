"""Fault injection in the pure simulator (issue #8): stuck CAN status counters, bad V2X from the
road-side unit, the /diagnostics event log, per-fault time and distance to standstill, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from lsv_can_bridge.chassis_config import load_chassis_config
from lsv_can_bridge.receiver import BAD_COUNTER, FrameReceiver
from lsv_sim.core import NS, DiagnosticsLog, ScenarioRsu, Simulator, malform
from lsv_sim.evaluation import evaluate, expected_diagnostic, fault_metrics
from lsv_sim.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    load_scenario,
    parse_scenario,
    randomize,
    read_document,
    resolve_path,
)

CONFIG = load_chassis_config("dbc/lsv_chassis.yaml")
START_UTC_NS = 1_780_300_800 * NS


def straight(**extra):
    d = {"name": "s", "duration_s": 10, "seed": 3,
         "map": {"world": "synthetic", "bounds_m": [-200, -200, 200, 200]}, "ego": {"start": {"x": 0, "y": 0}}}
    d.update(extra)
    return parse_scenario(d, "s.yaml")


def test_can_counter_corrupt_makes_the_bridge_drop_every_status_frame() -> None:
    sim = Simulator(straight(faults=[{"type": "can_counter_corrupt", "at_s": 1.0, "duration_s": 1.0}]), CONFIG)
    rx = FrameReceiver(CONFIG.status)
    accepted = {"before": 0, "during": 0, "after": 0}
    while sim.t_s < 3.0:
        sim.step()
        phase = "before" if sim.t_s < 1.0 else "during" if sim.t_s < 2.0 else "after"
        for frame_id, data in sim.status_frames():
            accepted[phase] += rx.update(sim.t_ns, frame_id, data, frame_id > 0x7FF) is not None
    assert accepted["before"] > 40 and accepted["after"] > 40
    # the first frame of each message in the fault still counts (its counter is the one before + 1)
    assert accepted["during"] <= len(CONFIG.status)
    assert rx.counts[BAD_COUNTER] > 40


V2X_SCENARIO = {"v2x": {"enabled": True, "rsu": {"position": [0, 0]}},
                "actors": [{"id": "ped", "type": "pedestrian", "waypoints": [[5, -5], [5, 5]], "speed_mps": 1.0,
                            "trigger": {"at_s": 0}}]}


def _client_drops(fault: dict, seconds: float = 3.0) -> tuple[dict[str, int], int]:
    """Datagrams of the scenario's RSU (the sim node's encoding) through the real V2X client core."""
    from lsv_v2x_client.checks import EgoState
    from lsv_v2x_client.core import V2xClientCore
    from lsv_v2x_client.params import params_from_yaml

    sc = straight(faults=[fault], **V2X_SCENARIO)
    sim = Simulator(sc, CONFIG)
    rsu = ScenarioRsu(sc, sim.world)
    params = params_from_yaml()
    params = type(params)(**{**params.__dict__, "map_origin_lat_deg": sc.map.origin_lat_deg,
                             "map_origin_lon_deg": sc.map.origin_lon_deg})
    core = V2xClientCore(params)
    accepted = sent = 0
    while sim.t_s < seconds:
        for _ in range(10):
            sim.step()
        now = START_UTC_NS + sim.t_ns
        core.set_ego(EgoState(0.0, 0.0, 0.0, 0.0, now))
        for msg in rsu.messages(sim.ground_truth(), now):
            payload = core.codec.encode(msg)
            if "v2x_malformed" in sim.faults():
                payload = malform(payload, sent)
            sent += 1
            if sim.t_s >= fault["at_s"]:
                accepted += core.receive(payload, "127.0.0.1:9", now)
            else:
                assert core.receive(payload, "127.0.0.1:9", now), (sim.t_s, msg)
    return {k: v for k, v in core.drop_counts().items() if v}, accepted


@pytest.mark.parametrize(("fault", "reason"), [
    ("v2x_stale", "dropped.stale"), ("v2x_future", "dropped.future"), ("v2x_spoofed", "dropped.out_of_range"),
    ("v2x_malformed", "dropped.malformed")])
def test_bad_v2x_from_the_rsu_is_dropped_by_the_client_for_the_right_reason(fault: str, reason: str) -> None:
    drops, accepted = _client_drops({"type": fault, "at_s": 1.0})
    assert drops.get(reason, 0) >= 10, drops
    assert expected_diagnostic(straight(faults=[{"type": fault, "at_s": 1.0}]).faults[0]) == reason
    # 2 s of faults: 20 SPaT/RSM each; what may pass is the MAP (static, no time) and the RSI (minute of
    # the year only) of each second
    assert accepted <= 4, (accepted, drops)


def test_v2x_fault_magnitudes_move_times_and_positions() -> None:
    from lsv_v2x_client.messages import Rsm

    for fault, check in (({"type": "v2x_future", "at_s": 0, "magnitude": 30}, "time"),
                         ({"type": "v2x_spoofed", "at_s": 0, "magnitude": 1000}, "position")):
        sc = straight(faults=[fault], **V2X_SCENARIO)
        clean = straight(**V2X_SCENARIO)
        out = []
        for s in (sc, clean):
            sim = Simulator(s, CONFIG)
            for _ in range(100):
                sim.step()
            out.append(ScenarioRsu(s, sim.world).messages(sim.ground_truth(), START_UTC_NS + sim.t_ns))
        if check == "time":
            a, b = (next(m for m in msgs if isinstance(m, Rsm)).participants[0] for msgs in out)
            assert (a.sec_mark_ms - b.sec_mark_ms) % 60_000 == 30_000
        else:
            a, b = (next(m for m in msgs if isinstance(m, Rsm)).participants[0].position for msgs in out)
            world = Simulator(clean, CONFIG).world
            pa, pb = world.from_latlon(a.lat_deg, a.lon_deg), world.from_latlon(b.lat_deg, b.lon_deg)
            assert math.hypot(pa[0] - pb[0], pa[1] - pb[1]) == pytest.approx(1000.0, abs=1.0)


def test_malform_gives_three_kinds_of_broken_datagrams() -> None:
    p = bytes(range(30))
    assert malform(p, 0) == p[:10]
    assert malform(p, 1) == bytes(255 - b for b in p)
    assert malform(p, 2) == b"\xff" * 30
    assert malform(p, 3) == malform(p, 0)


def test_diagnostics_log_records_changes_and_rising_fault_counters() -> None:
    log = DiagnosticsLog()
    log.update(0.0, "can_bridge: status", 0, "ok", {"bad_counter": 0.0, "accepted": 10.0})
    log.update(0.5, "can_bridge: status", 0, "ok", {"bad_counter": 0.0, "accepted": 60.0})
    log.update(1.0, "can_bridge: status", 1, "bad status frames seen", {"bad_counter": 12.0, "accepted": 61.0})
    log.update(2.0, "can_bridge: status", 1, "bad status frames seen", {"bad_counter": 40.0})  # < 5 s later
    log.update(7.0, "can_bridge: status", 2, "chassis status stale", {"bad_counter": 90.0})
    texts = [(e["t_s"], e["text"]) for e in log.events]
    assert texts == [(0.0, "can_bridge: status: OK ok"),
                     (1.0, "can_bridge: status: WARN bad status frames seen"),
                     (1.0, "can_bridge: status: bad_counter +12"),
                     (7.0, "can_bridge: status: ERROR chassis status stale"),
                     (7.0, "can_bridge: status: bad_counter +78")]


def test_fault_metrics_time_and_distance_to_standstill_and_the_diagnostic() -> None:
    t = np.arange(0.0, 10.0, 0.01)
    speed = np.where(t < 4.0, 5.0, np.maximum(0.0, 5.0 - 2.0 * (t - 4.0)))  # brakes at 2 m/s^2 from 4 s
    x = np.concatenate([[0.0], np.cumsum(speed[:-1] * 0.01)])
    sc = straight(faults=[{"type": "kill_node", "target": "controller", "at_s": 4.0},
                          {"type": "gnss_jump", "at_s": 20.0}])
    diags = [{"t_s": 3.0, "level": "WARN", "text": "can_bridge: command: WARN sending a braking command (x)"},
             {"t_s": 4.3, "level": "OK", "text": "can_bridge: command: OK braking command off"},
             {"t_s": 4.4, "level": "WARN", "text": "can_bridge: command: WARN sending a braking command (timeout)"}]
    rows = fault_metrics(sc.faults, t, x, np.zeros_like(t), speed, diags)
    kill, late = rows
    assert kill["injected"] and kill["speed_at_injection_mps"] == 5.0
    assert kill["time_to_standstill_s"] == pytest.approx(2.5 - 0.05, abs=0.02)  # STANDSTILL_MPS = 0.1
    assert kill["distance_to_standstill_m"] == pytest.approx(5.0 ** 2 / 4.0, abs=0.05)
    assert kill["diagnostic"]["t_s"] == 4.4 and kill["diagnostic"]["delay_s"] == pytest.approx(0.4)
    assert not late["injected"]  # after the end of the run
    assert fault_metrics(sc.faults, t, x, np.zeros_like(t), speed, None)[0]["diagnostic"] is None


def test_fault_pass_criteria_become_checks() -> None:
    from lsv_sim.core import EgoShape, Trace

    tr = Trace(0, 0)
    for k in range(600):  # 6 s: 3 m/s until 2 s, then -1.5 m/s^2 to a stop at 4 s
        ts = k * 0.01
        v = 3.0 if ts < 2.0 else max(0.0, 3.0 - 1.5 * (ts - 2.0))
        x = 3.0 * min(ts, 2.0) + (0.0 if ts < 2.0 else 3.0 * min(ts - 2, 2) - 0.75 * min(ts - 2, 2) ** 2)
        tr.append((ts, x, 0.0, 0.0, v, 0.0, 0.0, 0.0), np.zeros((0, 4)), np.zeros(0, dtype=np.int8))
    fault = [{"type": "chassis_status_silent", "at_s": 2.0}]
    diags = [{"t_s": 2.3, "level": "ERROR", "text": "can_bridge: status: ERROR chassis status stale"}]
    ok = evaluate(parse_scenario({**_doc(fault), "pass": {"stops_within_s": 2.5, "max_distance_after_fault_m": 3.5,
                                                          "diagnostic_reported": True}}, "f.yaml"),
                  tr, EgoShape(), diagnostics=diags)
    names = {c["name"]: c["passed"] for c in ok["checks"]}
    assert names == {"no_collision": True, "no_red_light_violation": True, "no_stop_line_violation": True,
                     "no_crosswalk_yield_violation": True, "stops_within_s.chassis_status_silent": True,
                     "max_distance_after_fault_m.chassis_status_silent": True,
                     "diagnostic_reported.chassis_status_silent": True}
    strict = evaluate(parse_scenario({**_doc(fault), "pass": {"stops_within_s": 1.0, "continues_safely": False,
                                                             "diagnostic_reported": True}}, "f.yaml"),
                      tr, EgoShape(), diagnostics=[])
    bad = {c["name"] for c in strict["checks"] if not c["passed"]}
    assert bad == {"stops_within_s.chassis_status_silent", "diagnostic_reported.chassis_status_silent"}
    assert not strict["passed"]
    carry = evaluate(parse_scenario({**_doc(fault), "pass": {"continues_safely": True}}, "f.yaml"), tr, EgoShape())
    assert {c["name"]: c["passed"] for c in carry["checks"]}["continues_safely.chassis_status_silent"] is False


def _doc(faults: list) -> dict:
    return {"name": "f", "duration_s": 6, "map": {"world": "synthetic", "bounds_m": [-50, -50, 50, 50]},
            "ego": {"start": {"x": 0, "y": 0}}, "faults": faults}


def test_randomize_is_an_explicit_deterministic_mapping_from_seed_to_perturbations() -> None:
    doc = read_document("default")
    same, changes0 = randomize(doc, 0)
    assert same == doc and changes0 == {}
    a, ca = randomize(doc, 3)
    b, cb = randomize(doc, 3)
    c, _ = randomize(doc, 4)
    assert a == b and ca == cb and a != c
    assert yaml.safe_load(yaml.safe_dump(a)) == a  # plain YAML types (the suite writes it back)
    assert a["seed"] == doc["seed"] * 1000 + 3
    ped0, ped = doc["actors"][0], a["actors"][0]
    assert abs(ped["trigger"]["at_s"] - ped0["trigger"]["at_s"]) <= 1.0
    assert 0.0 <= ped["trigger"]["delay_s"] <= 0.5
    off = np.asarray(ped["waypoints"]) - np.asarray(ped0["waypoints"])
    assert np.allclose(off, off[0], atol=2e-3) and np.all(np.abs(off) <= 0.301)
    assert 0.9 * ped0["speed_mps"] - 1e-3 <= ped["speed_mps"] <= 1.1 * ped0["speed_mps"] + 1e-3
    assert 1.0 <= a["sensor_noise_scale"] <= 1.5
    assert a["lights"] == doc["lights"] and a["mission"] == doc["mission"] and a["ego"] == doc["ego"]
    assert doc == read_document("default")  # the input is not changed
    synthetic = read_document("crossing_synthetic")  # the perturbed documents stay valid scenarios
    for k in range(1, 6):
        sc = parse_scenario(randomize(synthetic, k)[0], "crossing_synthetic.yaml")
        assert sc.seed == synthetic["seed"] * 1000 + k and 1.0 <= sc.sensor_noise_scale <= 1.5


def test_randomize_moves_fault_times_forwards_by_at_most_a_second() -> None:
    doc = read_document(SCENARIO_DIR / "faults" / "kill_controller.yaml")
    for k in range(1, 8):
        f = randomize(doc, k)[0]["faults"][0]
        assert 12.0 <= f["at_s"] <= 13.0 and f["target"] == "controller"
    with pytest.raises(ValueError, match="suite seed"):
        randomize(doc, -1)


@pytest.mark.slow  # loads the district map (lanelet2)
def test_fault_scenarios_are_valid_and_resolvable_by_name() -> None:
    files = sorted((SCENARIO_DIR / "faults").glob("*.yaml"))
    kinds = set()
    for p in files:
        sc = load_scenario(p)
        assert resolve_path(p.stem) == p
        assert sc.faults, p
        pc = sc.pass_criteria
        assert pc.no_collision and pc.diagnostic_reported
        assert pc.continues_safely != (pc.stops_within_s is not None), p
        kinds |= {f.type if f.type != "kill_node" else f"kill_node {f.target}" for f in sc.faults}
    assert {"kill_node controller", "kill_node can_bridge", "kill_node planner", "kill_node localizer",
            "kill_node v2x_client", "gnss_freeze", "imu_freeze", "imu_dropout", "chassis_status_silent",
            "can_counter_corrupt", "v2x_stale", "v2x_future", "v2x_spoofed", "v2x_malformed", "gnss_jump",
            "camera_blinded", "lidar_occluded", "sensor_clock_offset", "kill_node tracker"} <= kinds


def test_scenario_errors_for_the_new_fault_fields() -> None:
    with pytest.raises(ScenarioError) as err:
        straight(faults=[{"type": "kill_node", "at_s": 1},
                         {"type": "imu_freeze", "at_s": 1, "magnitude": 3},
                         {"type": "gnss_jump", "at_s": 1, "magnitude": -1}])
    text = str(err.value)
    assert "faults[0].target: missing (required for kill_node" in text
    assert "faults[1].magnitude: expected no magnitude" in text
    assert "faults[2].magnitude: expected a number in [0.0, 1000000.0]" in text
    with pytest.raises(ScenarioError, match=r"pass\.stops_within_s: expected faults to judge it on"):
        parse_scenario({**_doc([]), "pass": {"stops_within_s": 3}}, "f.yaml")
    with pytest.raises(ScenarioError, match=r"pass\.continues_safely: expected either a stop"):
        parse_scenario({**_doc([{"type": "gnss_jump", "at_s": 1}]),
                        "pass": {"stops_within_s": 3, "continues_safely": True}}, "f.yaml")
    with pytest.raises(ScenarioError, match="sensor_noise_scale: expected a number in"):
        parse_scenario({**_doc([]), "sensor_noise_scale": -2}, "f.yaml")
    sc = straight(faults=[{"type": "gnss_jump", "at_s": 1}, {"type": "v2x_stale", "at_s": 1, "magnitude": 7}])
    assert [f.size for f in sc.faults] == [20.0, 7.0]


# ------------------------------------------------------------- perception-input faults (issue #15)


def test_blind_saturates_the_given_share_and_brightens_the_rest() -> None:
    from lsv_sim.sensor_faults import blind

    rng = np.random.default_rng(5)
    rgb = rng.integers(20, 200, (480, 640, 3), dtype=np.uint8)
    before = rgb.copy()
    for share in (0.1, 0.5, 0.9, 1.0):
        out = blind(rgb, share)
        white = (out == 255).all(axis=2)
        assert white.mean() == pytest.approx(share, abs=0.005), share
        assert (out >= rgb).all()  # glare only adds light
        if share < 1.0:
            assert out[~white].mean() > rgb[~white].mean() + 5  # the halo
    np.testing.assert_array_equal(rgb, before)  # a copy: the rendered frame is not touched
    np.testing.assert_array_equal(blind(rgb, 0.0), rgb)
    # the clipped part is one blob round the glare's centre (upper middle), not scattered pixels
    white = (blind(rgb, 0.2) == 255).all(axis=2)
    ys, xs = np.nonzero(white)
    assert abs(xs.mean() - 319.5) < 5 and abs(ys.mean() - 0.3 * 479) < 40
    assert (blind(rgb[:, :, 0], 1.0) == 255).all()  # mono
    with pytest.raises(ValueError, match="uint8"):
        blind(rgb.astype(np.float32), 0.5)


def test_occluded_is_the_sector_centred_ahead_in_the_lidar_frame() -> None:
    from lsv_common.convert import POINT_XYZIR
    from lsv_sim.sensor_faults import occluded

    az = np.radians(np.arange(-179.5, 180.0, 1.0))
    pts = np.zeros(len(az), POINT_XYZIR)
    pts["x"], pts["y"] = 10.0 * np.cos(az), 10.0 * np.sin(az)
    gone = occluded(pts, 120.0)
    assert gone.sum() == 120
    assert np.degrees(np.abs(az[gone])).max() < 60.0 and np.degrees(np.abs(az[~gone])).min() > 60.0
    behind = occluded(pts, 40.0, centre_deg=180.0)  # wraps round +-180
    assert behind.sum() == 40 and (np.abs(np.degrees(az[behind])) > 160.0).all()
    plain = np.stack([pts["x"], pts["y"]], axis=1)
    np.testing.assert_array_equal(occluded(plain, 120.0), gone)
    assert not occluded(pts, 0.0).any() and occluded(pts, 360.0).all()


def test_clock_offset_of_the_target_sensor_only_while_active() -> None:
    from lsv_sim.sensor_faults import clock_offset_ns

    sc = straight(faults=[{"type": "sensor_clock_offset", "at_s": 2.0, "duration_s": 3.0},
                          {"type": "sensor_clock_offset", "at_s": 1.0, "target": "camera", "magnitude": -0.25}])
    assert [(f.target, f.size) for f in sc.faults] == [("lidar", 0.5), ("camera", -0.25)]
    assert clock_offset_ns(sc.faults_active(1.5), "lidar") == 0
    assert clock_offset_ns(sc.faults_active(2.5), "lidar") == 500_000_000
    assert clock_offset_ns(sc.faults_active(2.5), "camera") == -250_000_000
    assert clock_offset_ns(sc.faults_active(5.5), "lidar") == 0
    assert clock_offset_ns(sc.faults_active(5.5), "gnss") == 0


def test_perception_fault_types_their_defaults_and_errors() -> None:
    sc = straight(faults=[{"type": "camera_blinded", "at_s": 1}, {"type": "lidar_occluded", "at_s": 1},
                          {"type": "camera_blinded", "at_s": 1, "magnitude": 0.4},
                          {"type": "lidar_occluded", "at_s": 1, "magnitude": 45}])
    assert [f.size for f in sc.faults] == [1.0, 120.0, 0.4, 45.0]
    with pytest.raises(ScenarioError) as err:
        straight(faults=[{"type": "camera_blinded", "at_s": 1, "magnitude": 1.5},
                         {"type": "lidar_occluded", "at_s": 1, "magnitude": 400},
                         {"type": "sensor_clock_offset", "at_s": 1, "target": "radar"},
                         {"type": "sensor_clock_offset", "at_s": 1, "magnitude": -61},
                         {"type": "lidar_occluded", "at_s": 1, "target": "lidar"}])
    text = str(err.value)
    assert "faults[0].magnitude: expected a number in [0.0, 1.0], got 1.5" in text
    assert "faults[1].magnitude: expected a number in [0.0, 360.0], got 400" in text
    assert "faults[2].target: expected one of ['lidar', 'camera', 'gnss', 'imu'] for sensor_clock_offset" in text
    assert "faults[3].magnitude: expected a number in [-60.0, 60.0], got -61" in text
    assert "faults[4].target: expected no target (lidar_occluded takes none)" in text


# ---------------------------------------------------------------------------------- the node

NODE_SCENARIO = """
name: sensor_faults
duration_s: 7
seed: 4
map: {world: synthetic, bounds_m: [-50, -50, 50, 50], roads: [{centerline: [[-50, 0], [50, 0]], width_m: 7}]}
ego: {start: {x: 0, y: -1.75, yaw_deg: 0}}
faults:
- {type: gnss_freeze, at_s: 2.0, duration_s: 1.5}
- {type: imu_freeze, at_s: 2.0, duration_s: 1.5}
- {type: gnss_jump, at_s: 4.5, duration_s: 1.5, magnitude: 20}
pass: {no_collision: true, diagnostic_reported: true}
"""


@pytest.mark.slow
@pytest.mark.skipif(__import__("os").environ.get("LSV_IN_NETNS") != "1",
                    reason="the simulator's CAN bus (udp_multicast) needs the private network namespace")
def test_simulator_node_freezes_and_jumps_sensors_and_logs_diagnostics(tmp_path) -> None:
    """The simulator node alone (real-time mode): frozen GNSS/IMU repeat the very same message,
    the GNSS jump moves the fixes by 20 m, and a status published on /diagnostics after the
    injection is the fault's reported cause in summary.json / diagnostics.json."""
    import json
    from pathlib import Path

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from sensor_msgs.msg import Imu, NavSatFix

    from lsv_common.testing import spin_until, start_node
    from lsv_sim.scenario import SyntheticWorld

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(NODE_SCENARIO)
    report = tmp_path / "report"
    repo = Path(__file__).resolve().parents[3]
    rclpy.init()
    node = rclpy.create_node("test_sensor_faults")
    fixes: list[tuple[int, float, float]] = []
    imus: list[int] = []
    node.create_subscription(NavSatFix, "/sensing/gnss/fix", lambda m: fixes.append(
        (m.header.stamp.sec * NS + m.header.stamp.nanosec, m.latitude, m.longitude)), 50)
    node.create_subscription(Imu, "/sensing/imu", lambda m: imus.append(
        m.header.stamp.sec * NS + m.header.stamp.nanosec), 200)
    diag_pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
    sim = start_node("lsv_sim.sim_node", name="simulator", params_file=repo / "src/sim/config/simulator.param.yaml",
                     params={"scenario": str(scenario), "report_dir": str(report), "mode": "realtime",
                             "bus.interface": "udp_multicast", "bus.channel": "239.74.170.9",
                             "sensors.lidar": False, "sensors.camera": False},
                     remaps={"~/output/gnss/fix": "/sensing/gnss/fix", "~/output/imu": "/sensing/imu"},
                     log_dir=tmp_path)
    try:
        def say(level: int, text: str) -> None:
            diag_pub.publish(DiagnosticArray(status=[DiagnosticStatus(level=bytes([level]), name="localizer: ekf",
                                                                     message=text)]))

        assert spin_until(node, lambda: len(fixes) > 5, 120.0), sim.log()[-2000:]
        say(0, "GNSS + wheel + IMU")
        assert spin_until(node, lambda: fixes[-1][0] - START_UTC_NS >= 2.6 * NS or not sim.alive(), 30.0)
        say(2, "GNSS fix repeated: dead reckoning")
        assert spin_until(node, lambda: not sim.alive(), 60.0), sim.log()[-2000:]
    finally:
        sim.stop()
        node.destroy_node()
        rclpy.try_shutdown()
    t = np.array([f[0] - START_UTC_NS for f in fixes]) / NS
    from collections import Counter

    # the frozen receiver repeats its last message (stamp 1.9-2.0 s) for 1.5 s at 10 Hz: same stamp, same fix
    (repeated, n), = Counter(fixes).most_common(1)
    assert n >= 10 and 1.85 <= (repeated[0] - START_UTC_NS) / NS <= 2.0, (repeated, n)
    assert sum(f[0] == repeated[0] for f in fixes) == n  # the position never changed under that stamp
    stamps = [f[0] for f in fixes]
    assert sorted(set(stamps)) == sorted(set(stamps), key=stamps.index)  # fresh again afterwards, in order
    assert max(t) > 6.0
    world = SyntheticWorld(parse_scenario(__import__("yaml").safe_load(NODE_SCENARIO), "s.yaml").map)
    xy = np.array([world.from_latlon(lat, lon) for _, lat, lon in fixes])
    jump = (t >= 4.6) & (t < 5.9)
    before = (t >= 3.6) & (t < 4.4)
    shift = xy[jump].mean(axis=0) - xy[before].mean(axis=0)  # the ego is parked (no commands)
    assert np.hypot(*shift) == pytest.approx(20.0, abs=2.0) and shift[0] == pytest.approx(shift[1], abs=2.0)
    (imu_stamp, imu_n), = Counter(imus).most_common(1)
    assert imu_n >= 50 and 1.98 <= (imu_stamp - START_UTC_NS) / NS <= 2.0, (imu_stamp, imu_n)  # 100 Hz repeats
    summary = json.loads((report / "summary.json").read_text())
    freeze = summary["faults"][0]
    assert freeze["type"] == "gnss_freeze" and freeze["expected_diagnostic"] == "gnss"
    assert freeze["diagnostic"]["text"] == "localizer: ekf: ERROR GNSS fix repeated: dead reckoning"
    events = json.loads((report / "diagnostics.json").read_text())
    assert [e["level"] for e in events if e["status"] == "localizer: ekf"] == ["OK", "ERROR"]


PERCEPTION_FAULTS_SCENARIO = """
name: perception_input_faults
duration_s: 4.2
seed: 15
map: {world: district}
ego: {start: {place: depot}}
faults:
- {type: camera_blinded, at_s: 1.0, duration_s: 1.0}
- {type: lidar_occluded, at_s: 1.0, duration_s: 1.0}
- {type: sensor_clock_offset, target: lidar, magnitude: 0.5, at_s: 2.5, duration_s: 1.0}
pass: {no_collision: true}
"""


@pytest.mark.slow
@pytest.mark.skipif(__import__("os").environ.get("LSV_IN_NETNS") != "1",
                    reason="the simulator's CAN bus (udp_multicast) needs the private network namespace")
def test_simulator_node_blinds_occludes_and_shifts_the_sensors_it_publishes(tmp_path) -> None:
    """The simulator node alone in the district (real-time mode, the ego parked): while camera_blinded is
    on, its images are white; while lidar_occluded is on, its clouds have no return within 60 deg of
    straight ahead; while sensor_clock_offset is on, the lidar's stamps run 0.5 s ahead of the others'."""
    from pathlib import Path

    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image, PointCloud2

    from lsv_common.convert import from_pointcloud2, rgb_from_image
    from lsv_common.testing import spin_until, start_node

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(PERCEPTION_FAULTS_SCENARIO)
    repo = Path(__file__).resolve().parents[3]
    rclpy.init()
    node = rclpy.create_node("test_perception_input_faults")
    images: list[tuple[float, float]] = []  # (stamp s since the start, share of white pixels)
    clouds: list[tuple[float, int, int]] = []  # (stamp s, returns within 60 deg of ahead, returns)

    def on_image(m: Image) -> None:
        rgb = rgb_from_image(m)
        images.append(((m.header.stamp.sec * NS + m.header.stamp.nanosec - START_UTC_NS) / NS,
                       float((rgb.min(axis=2) == 255).mean())))

    def on_cloud(m: PointCloud2) -> None:
        p = from_pointcloud2(m)
        ahead = np.abs(np.degrees(np.arctan2(p["y"], p["x"]))) < 59.0
        clouds.append(((m.header.stamp.sec * NS + m.header.stamp.nanosec - START_UTC_NS) / NS,
                       int(ahead.sum()), len(p)))

    node.create_subscription(Image, "/sensing/camera/image_raw", on_image, qos_profile_sensor_data)
    node.create_subscription(PointCloud2, "/sensing/lidar/points", on_cloud, qos_profile_sensor_data)
    sim = start_node("lsv_sim.sim_node", name="simulator", params_file=repo / "src/sim/config/simulator.param.yaml",
                     params={"scenario": str(scenario), "mode": "realtime", "realtime_factor": 0.5,
                             "bus.interface": "udp_multicast", "bus.channel": "239.74.170.10"},
                     remaps={"~/output/camera/image": "/sensing/camera/image_raw",
                             "~/output/lidar/points": "/sensing/lidar/points"},
                     log_dir=tmp_path)
    try:
        assert spin_until(node, lambda: not sim.alive(), 240.0), sim.log()[-2000:]
        spin_until(node, lambda: False, 0.5)
    finally:
        sim.stop()
        node.destroy_node()
        rclpy.try_shutdown()
    assert len(images) >= 20 and len(clouds) >= 20, (len(images), len(clouds), sim.log()[-2000:])
    for t, white in images:
        assert (white > 0.99) == (1.0 <= t < 2.0 - 1e-6), (t, white)
    # the lidar: its scans are stamped k x 0.1 s; from 2.5 to 3.5 s the stamps read 0.5 s later
    stamps = [t for t, _, _ in clouds]
    steps = np.round(np.diff(stamps), 2)
    assert 0.6 in steps and -0.4 in steps, stamps  # the jump ahead at 2.5 s and back at 3.5 s
    for t, ahead, n in clouds:
        occluded_now = 1.0 <= t < 2.0 - 1e-6  # before the clock offset: stamp = sampling time
        assert n > 20_000 and (ahead == 0) == occluded_now, (t, ahead, n)
