"""Ride comfort figures on hand-made traces (lsv_sim.comfort) and the emergency intervals the
simulator node records for them (lsv_sim.emergency)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_can_bridge.values import STATUS_MODE_AUTO, STATUS_MODE_ESTOP, STATUS_MODE_FAULT, STATUS_MODE_MANUAL
from lsv_sim.comfort import (
    EXCLUDE_AFTER_S,
    EXCLUDE_BEFORE_S,
    JERK_WINDOW_S,
    ExcludedInterval,
    comfort,
    excluded_mask,
    stop_and_go_cycles,
)
from lsv_sim.core import EgoShape, Trace
from lsv_sim.emergency import EmergencyRecorder, MrmState, parse_mrm_state
from lsv_sim.evaluation import evaluate, summary_table, write_report
from lsv_sim.scenario import parse_scenario

DT = 0.01  # s, the simulator's step


def drive(decel_of, t_end: float, v0: float = 3.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, speed, accel) of a vehicle braking with ``decel_of(t, v)`` (>= 0, m/s^2) until it stands;
    at standstill the acceleration is 0 (the brake holds), as in the simulator's trace."""
    n = round(t_end / DT) + 1
    t = np.arange(n) * DT
    speed, accel = np.zeros(n), np.zeros(n)
    v = v0
    for k in range(n):
        a = -decel_of(t[k], v) if v > 0.0 else 0.0
        v = v + a * DT if v + a * DT > 0.01 else 0.0  # below 1 cm/s: at rest (the brake holds)
        speed[k], accel[k] = v, a
    return t, speed, accel


def ramped(a_max: float, t0: float = 1.0, jerk: float = 1.0):
    """Braking that starts at t0 with a ``jerk`` m/s^3 ramp up to ``a_max``."""
    return lambda t, v: min(max(t - t0, 0.0) * jerk, a_max)


def figures(t, speed, accel, yaw=None, excluded=()):
    return comfort(t, speed, accel, np.zeros(len(t)) if yaw is None else yaw, excluded)


def test_a_constant_deceleration_stop_ends_with_the_whole_deceleration_as_a_jerk_spike() -> None:
    t, speed, accel = drive(ramped(1.5), 6.0)
    t_stop = t[np.argmax(speed <= 0.0)]
    assert 2.5 < t_stop < 4.5 and speed[-1] == 0.0
    c = figures(t, speed, accel)
    lj = c["longitudinal_jerk_mps3"]
    # -1.5 m/s^2 to 0 within one step, seen through the 0.1 s average: 1.5 / 0.1 s
    assert lj["max"] == pytest.approx(1.5 / JERK_WINDOW_S, rel=0.03)
    assert lj["max_t_s"] == pytest.approx(t_stop, abs=JERK_WINDOW_S)
    assert c["longitudinal_accel_mps2"]["max_decel"] == pytest.approx(1.5, abs=0.1)
    assert c["excluded"] == [] and c["excluded_s"] == 0.0


def test_a_stop_tapered_exponentially_to_standstill_stays_smooth() -> None:
    tau = 1.0  # s: the last part of the stop, v(t) ~ exp(-t / tau), decel = v / tau
    t, speed, accel = drive(lambda t, v: min(ramped(1.5)(t, v), v / tau), 12.0)
    assert speed[-1] == 0.0  # a real stop
    c = figures(t, speed, accel)
    lj = c["longitudinal_jerk_mps3"]
    assert lj["max"] < 1.6  # the 1 m/s^3 ramp in, 1.5 / tau at the switch to the taper, a crumb at the end
    assert lj["max"] < 2.5  # the shipped scenarios' max_comfort_jerk_mps3
    assert 0.2 < lj["p95"] <= lj["max"]


def test_an_emergency_interval_and_its_margins_are_left_out() -> None:
    t, speed, accel = drive(ramped(3.0, jerk=30.0), 6.0)  # a hard stop: 30 m/s^3 in, 30 out
    t_stop = float(t[np.argmax(speed <= 0.0)])
    hard = figures(t, speed, accel)["longitudinal_jerk_mps3"]["max"]
    assert hard > 20.0
    # the ECU left AUTO at 1.0 s and came back at the standstill: nothing of the stop counts
    estop = ExcludedInterval(1.0, t_stop, "chassis ECU mode FAULT")
    c = figures(t, speed, accel, excluded=[estop])
    assert c["longitudinal_jerk_mps3"]["max"] == 0.0 and c["longitudinal_accel_mps2"]["max_decel"] == 0.0
    assert c["excluded"] == [{"start_s": 1.0, "end_s": round(t_stop, 3), "cause": "chassis ECU mode FAULT"}]
    assert c["excluded_s"] == pytest.approx(t_stop - 1.0 + EXCLUDE_BEFORE_S + EXCLUDE_AFTER_S, abs=0.02)
    # a drive-off jolt after the margin counts again; one inside it does not
    for at, counted in ((t_stop + EXCLUDE_AFTER_S + 0.3, True), (t_stop + EXCLUDE_AFTER_S - 0.2, False)):
        jolt = accel.copy()
        jolt[t >= at] = 1.0
        lj = figures(t, speed, jolt, excluded=[estop])["longitudinal_jerk_mps3"]
        assert (lj["max"] == pytest.approx(1.0 / JERK_WINDOW_S, rel=0.03)) is counted, (at, lj)
    # one still on at the end of the run reaches to the end
    assert excluded_mask(t, [ExcludedInterval(5.0, None, "mrm EMERGENCY_STOP")])[-1]
    assert not excluded_mask(t, [ExcludedInterval(5.0, None, "x")])[np.searchsorted(t, 5.0 - EXCLUDE_BEFORE_S) - 2]


def test_lateral_acceleration_on_a_circle_is_v_squared_over_r() -> None:
    v, radius = 5.0, 20.0
    t = np.arange(0.0, 60.0, DT)  # more than two laps: the heading wraps around
    yaw = np.angle(np.exp(1j * v * t / radius))
    c = figures(t, np.full(len(t), v), np.zeros(len(t)), yaw)
    assert c["lateral_accel_mps2"]["max"] == pytest.approx(v * v / radius, rel=1e-6)
    assert c["lateral_accel_mps2"]["p95"] == pytest.approx(v * v / radius, rel=1e-6)
    assert c["lateral_jerk_mps3"]["max"] < 1e-6
    # into the curve at once from straight driving: the lateral step shows as lateral jerk
    yaw2 = np.where(t < 10.0, 0.0, v * (t - 10.0) / radius)
    step = figures(t, np.full(len(t), v), np.zeros(len(t)), yaw2)["lateral_jerk_mps3"]["max"]
    assert step == pytest.approx(v * v / radius / JERK_WINDOW_S, rel=0.1)


def profile(*segments: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Speed held for (duration s, speed m/s) after another."""
    speed = np.concatenate([np.full(round(d / DT), v) for d, v in segments])
    return np.arange(len(speed)) * DT, speed


def test_stop_and_go_cycles() -> None:
    t, speed = profile((1.0, 0.0), (5.0, 3.0),  # start from rest: not a cycle
                       (1.0, 0.0), (5.0, 3.0),  # stop 1 s and go: 1
                       (0.3, 0.0), (5.0, 3.0),  # 0.3 s is not a stop
                       (1.0, 0.0), (1.0, 0.3), (1.0, 0.0), (5.0, 2.0),  # a creep does not end the stop: 2
                       (0.5, 0.0), (2.0, 0.6),  # exactly 0.5 s: 3
                       (3.0, 0.0))  # the final stop: not a cycle
    assert stop_and_go_cycles(t, speed) == 3
    assert stop_and_go_cycles(*profile((2.0, 0.0))) == 0
    assert stop_and_go_cycles(*profile((2.0, 3.0), (1.0, 0.0), (2.0, 0.4))) == 0  # a creep after is not a go
    assert figures(t, speed, np.gradient(speed, DT))["stop_and_go_cycles"] == 3


def test_the_emergency_recorder_follows_the_mrm_state_and_the_ecu_mode() -> None:
    assert parse_mrm_state("EMERGENCY_STOP: obstacle in the stopping distance") is MrmState.EMERGENCY_STOP
    assert parse_mrm_state("STOPPED (waiting for: odometry stale)") is MrmState.STOPPED
    assert parse_mrm_state("NORMAL") is MrmState.NORMAL and parse_mrm_state("hello") is MrmState.UNKNOWN
    rec = EmergencyRecorder()
    rec.on_ecu_mode(0.0, STATUS_MODE_MANUAL)  # before the stack engages: standing on the parking brake
    rec.on_ecu_mode(0.5, STATUS_MODE_AUTO)
    rec.on_mrm_state(3.0, "NORMAL")
    rec.on_mrm_state(4.0, "COMFORTABLE_STOP: odometry stale")  # what the comfort figures must judge
    rec.on_mrm_state(5.0, "EMERGENCY_STOP: obstacle in the stopping distance")
    rec.on_mrm_state(5.5, "garbled")  # not a state: the emergency goes on
    rec.on_mrm_state(7.0, "STOPPED")
    rec.on_ecu_mode(9.0, STATUS_MODE_FAULT)  # watchdog: the controller died
    rec.on_ecu_mode(9.5, STATUS_MODE_ESTOP)  # still out of AUTO: the same interval
    rec.on_ecu_mode(11.0, STATUS_MODE_AUTO)
    rec.on_mrm_state(12.0, "EMERGENCY_STOP: bumper contact")
    assert rec.intervals() == [
        ExcludedInterval(5.0, 7.0, "mrm EMERGENCY_STOP: obstacle in the stopping distance"),
        ExcludedInterval(9.0, 11.0, "chassis ECU mode FAULT"),
        ExcludedInterval(12.0, None, "mrm EMERGENCY_STOP: bumper contact")]
    assert rec.unknown_mrm_texts == 1


def test_the_summary_carries_comfort_and_judges_max_comfort_jerk(tmp_path) -> None:
    t, speed, accel = drive(ramped(1.5), 8.0)
    x = np.cumsum(speed) * DT
    tr = Trace(0, 0, capacity=len(t))
    for k in range(len(t)):
        tr.append((t[k], x[k], 0.0, 0.0, speed[k], accel[k], 0.0, 0.0), np.zeros((0, 4)), np.zeros(0, np.int8))
    sc = parse_scenario({"name": "c", "duration_s": 8, "map": {"world": "synthetic", "bounds_m": [-50, -50, 50, 50]},
                         "ego": {"start": {"x": 0, "y": 0}}, "pass": {"max_comfort_jerk_mps3": 2.5}}, "c.yaml")
    shape = EgoShape()
    s = evaluate(sc, tr, shape)
    check = next(c for c in s["checks"] if c["name"] == "max_comfort_jerk_mps3")
    assert check["limit"] == 2.5 and check["value"] == s["comfort"]["longitudinal_jerk_mps3"]["max"] > 14.0
    assert not check["passed"] and not s["passed"]
    assert s["comfort"]["longitudinal_jerk_mps3"]["max"] == pytest.approx(s["jerk_mps3"]["max"], abs=1e-3)
    t_stop = float(t[np.argmax(speed <= 0.0)])
    ok = evaluate(sc, tr, shape, excluded=[ExcludedInterval(0.9, t_stop, "mrm EMERGENCY_STOP")])
    assert ok["passed"] and ok["jerk_mps3"]["max"] == s["jerk_mps3"]["max"]  # the overall figure keeps it
    table = summary_table(ok)
    assert "comfort jerk max" in table and "1 emergency interval(s)" in table and "stop-and-go cycles" in table
    assert math.isclose(ok["comfort"]["jerk_window_s"], JERK_WINDOW_S)
    written = write_report(tmp_path, sc, tr, shape, excluded=[ExcludedInterval(0.9, t_stop, "mrm EMERGENCY_STOP")])
    assert written == ok and (tmp_path / "speed_accel.png").read_bytes()[:4] == b"\x89PNG"  # shaded interval
