"""What the bridge sends: the 100 ms command watchdog, e-stop, invalid input, clamping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsv_can_bridge.controller import CommandWatchdog, clamp_command
from lsv_can_bridge.params import Limits
from lsv_can_bridge.values import GEAR_DRIVE, LIGHT_HAZARD, MODE_ACCELERATION, MODE_PEDAL, Command, CommandSource

MS = 1_000_000
LIMITS = Limits(max_steer_angle_rad=0.55, max_steer_rate_rps=0.6, max_accel_mps2=1.5, max_decel_mps2=4.0,
                max_speed_mps=4.17)
DRIVING = Command(acceleration_mps2=1.0, speed_limit_mps=3.0, steering_angle_rad=0.2, steering_rate_rps=0.3,
                  gear=GEAR_DRIVE, enable=True)


def watchdog() -> CommandWatchdog:
    return CommandWatchdog(timeout_ns=100 * MS, timeout_decel_mps2=3.0, estop_decel_mps2=3.5)


def test_no_command_yet_sends_braking() -> None:
    cmd, source = watchdog().select(0, LIMITS)
    assert source is CommandSource.NO_COMMAND
    assert cmd.acceleration_mps2 == pytest.approx(-3.0) and cmd.speed_limit_mps == 0.0


def test_fresh_command_is_forwarded_until_100_ms_then_braking() -> None:
    wd = watchdog()
    wd.on_command(0, DRIVING)
    for t_ms in (0, 20, 60, 100):
        cmd, source = wd.select(t_ms * MS, LIMITS)
        assert source is CommandSource.STACK and cmd.acceleration_mps2 == pytest.approx(1.0)
    cmd, source = wd.select(100 * MS + 1, LIMITS)
    assert source is CommandSource.TIMEOUT
    assert cmd.acceleration_mps2 == pytest.approx(-3.0)
    assert cmd.mode == MODE_ACCELERATION and cmd.throttle_pct == 0.0
    assert cmd.steering_angle_rad == pytest.approx(0.2)  # keeps the wheel where it was asked
    assert cmd.lights & LIGHT_HAZARD and cmd.enable
    wd.on_command(200 * MS, DRIVING)
    assert wd.select(210 * MS, LIMITS)[1] is CommandSource.STACK
    assert wd.counts["timeout"] == 1 and wd.counts["stack"] == 5


def test_emergency_stop_sends_braking_with_the_estop_bit() -> None:
    wd = watchdog()
    wd.on_command(0, Command(**{**DRIVING.__dict__, "emergency_stop": True}))
    cmd, source = wd.select(10 * MS, LIMITS)
    assert source is CommandSource.EMERGENCY_STOP
    assert cmd.emergency_stop and cmd.acceleration_mps2 == pytest.approx(-3.5)


@pytest.mark.parametrize("bad", [{"acceleration_mps2": math.nan}, {"steering_angle_rad": math.inf},
                                 {"gear": 7}, {"mode": 5}])
def test_invalid_command_is_not_acted_on(bad: dict) -> None:
    wd = watchdog()
    wd.on_command(0, Command(**{**DRIVING.__dict__, **bad}))
    cmd, source = wd.select(10 * MS, LIMITS)
    assert source is CommandSource.INVALID
    assert cmd.acceleration_mps2 < 0 and all(math.isfinite(v) for v in (cmd.steering_angle_rad,
                                                                          cmd.acceleration_mps2))


finite = st.floats(-1e6, 1e6)


@settings(deadline=None)
@given(accel=finite, angle=finite, rate=finite, limit=finite, throttle=finite, brake=finite, speed=finite,
       mode=st.sampled_from([MODE_ACCELERATION, MODE_PEDAL]), pedal=st.booleans())
def test_clamp_holds_every_limit(accel: float, angle: float, rate: float, limit: float, throttle: float,
                                 brake: float, speed: float, mode: int, pedal: bool) -> None:
    cmd = Command(mode=mode, acceleration_mps2=accel, steering_angle_rad=angle, steering_rate_rps=rate,
                  speed_limit_mps=limit, throttle_pct=throttle, brake_pct=brake)
    out = clamp_command(cmd, LIMITS, measured_speed_mps=speed, pedal_supported=pedal)
    assert -LIMITS.max_decel_mps2 <= out.acceleration_mps2 <= LIMITS.max_accel_mps2
    assert abs(out.steering_angle_rad) <= LIMITS.max_steer_angle_rad
    assert 0.0 <= out.steering_rate_rps <= LIMITS.max_steer_rate_rps
    assert 0.0 <= out.speed_limit_mps <= LIMITS.max_speed_mps
    assert 0.0 <= out.throttle_pct <= 100.0 and 0.0 <= out.brake_pct <= 100.0
    if abs(speed) > out.speed_limit_mps:
        assert out.acceleration_mps2 <= 0.0 and out.throttle_pct == 0.0
    if not pedal:
        assert out.mode == MODE_ACCELERATION


def test_pedal_command_on_a_chassis_without_pedals_becomes_an_acceleration() -> None:
    out = clamp_command(Command(mode=MODE_PEDAL, throttle_pct=50.0, speed_limit_mps=3.0), LIMITS,
                        pedal_supported=False)
    assert out.mode == MODE_ACCELERATION and out.acceleration_mps2 == pytest.approx(0.75)
    out = clamp_command(Command(mode=MODE_PEDAL, brake_pct=100.0, speed_limit_mps=3.0), LIMITS,
                        pedal_supported=False)
    assert out.acceleration_mps2 == pytest.approx(-4.0)
