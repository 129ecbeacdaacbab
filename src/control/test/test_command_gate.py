"""Command gate: every limit acts, on every kind of command."""

from __future__ import annotations

import math

from lsv_control.command_gate import Command, GateState, apply
from lsv_control.sim_plant import default_params

P = default_params()[3]
DT = 0.02


def cmd(**kw: float) -> Command:
    base = {"acceleration_mps2": 0.0, "speed_limit_mps": 4.0, "steering_angle_rad": 0.0, "steering_rate_rps": 0.5}
    base.update(kw)
    return Command(**base)


def test_acceleration_clamped() -> None:
    out, _, rep = apply(cmd(acceleration_mps2=9.0), GateState(), 0.0, DT, P)
    assert out.acceleration_mps2 == P.max_accel_mps2 and rep.accel_limited
    out, _, _ = apply(cmd(acceleration_mps2=-9.0), GateState(), 0.0, DT, P)
    assert out.acceleration_mps2 == -P.max_decel_mps2


def test_jerk_limited_from_previous_command() -> None:
    out, _st, rep = apply(cmd(acceleration_mps2=-3.0), GateState(1.0, 0.0), 0.0, DT, P)
    assert math.isclose(out.acceleration_mps2, 1.0 - P.max_jerk_mps3 * DT) and rep.jerk_limited
    out, _, _ = apply(cmd(acceleration_mps2=-3.0), GateState(1.0, 0.0), 0.0, DT, P, emergency=True)
    assert math.isclose(out.acceleration_mps2, 1.0 - P.emergency_jerk_mps3 * DT)


def test_emergency_decel_reached_within_a_few_cycles() -> None:
    st = GateState(1.0, 0.0)
    for _ in range(12):
        out, st, _ = apply(cmd(acceleration_mps2=-3.0), st, 0.0, DT, P, emergency=True)
    assert out.acceleration_mps2 == -3.0


def test_steering_angle_and_rate_limited() -> None:
    out, _, rep = apply(cmd(steering_angle_rad=2.0), GateState(0.0, P.max_steer_rad), None, DT, P)
    assert out.steering_angle_rad == P.max_steer_rad and rep.steer_limited
    out, _, rep = apply(cmd(steering_angle_rad=0.5), GateState(0.0, 0.0), None, DT, P)
    assert math.isclose(out.steering_angle_rad, P.max_steer_rate_rps * DT) and rep.steer_rate_limited
    out, _, _ = apply(cmd(steering_rate_rps=9.0), GateState(), None, DT, P)
    assert out.steering_rate_rps == P.max_steer_rate_rps


def test_first_command_rate_limited_from_measured_steering() -> None:
    out, _, _ = apply(cmd(steering_angle_rad=0.5), GateState(), 0.2, DT, P)
    assert math.isclose(out.steering_angle_rad, 0.2 + P.max_steer_rate_rps * DT)


def test_speed_limit_capped_and_no_acceleration_above_it() -> None:
    out, _, _ = apply(cmd(speed_limit_mps=20.0, acceleration_mps2=1.0), GateState(), 0.0, DT, P,
                      speed_mps=P.max_speed_mps + 0.5)
    assert out.speed_limit_mps == P.max_speed_mps
    assert out.acceleration_mps2 <= 0.0


def test_non_finite_becomes_a_stop() -> None:
    out, _st, rep = apply(cmd(acceleration_mps2=float("nan"), steering_angle_rad=float("inf")), GateState(0.0, 0.1),
                         0.1, DT, P)
    assert rep.non_finite
    assert out.acceleration_mps2 < 0.0 and out.steering_angle_rad == 0.1
    assert all(math.isfinite(v) for v in (out.acceleration_mps2, out.speed_limit_mps, out.steering_angle_rad,
                                          out.steering_rate_rps))
