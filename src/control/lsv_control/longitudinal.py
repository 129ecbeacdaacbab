"""Longitudinal control: PID on speed with feed-forward of the planned acceleration and of the
road grade, and a DRIVE / HOLD state machine for stopping and starting on slopes (pure, no ROS).

Output is the acceleration request of ``lsv_msgs/VehicleCommand`` (MODE_ACCELERATION).
The grade feed-forward ``g sin(atan(grade))`` makes the drive force that holds the vehicle on a
slope available from the first cycle, so that an uphill start does not roll back while the
chassis' own speed loop winds up. In HOLD the request is a fixed negative acceleration (the
chassis holds on its service brake at standstill) and no feed-forward is added: a positive
grade term must never release the brake of a vehicle standing on a hill.

State machine (after openpilot's ``long_control_state_trans``), one test per transition:

    DRIVE --(reference ~ 0 and speed < stop_speed)--> HOLD
    HOLD  --(reference > start_speed)---------------> DRIVE
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from lsv_common.params import spec

G = 9.81  # m/s^2


class LongState(enum.Enum):
    DRIVE = "DRIVE"
    HOLD = "HOLD"


@dataclass(frozen=True)
class LongitudinalParams:
    kp: float = field(
        metadata=spec(
            name="longitudinal.kp", description="speed error proportional gain", unit="1/s", min=0.0, max=10.0
        )
    )
    ki: float = field(
        metadata=spec(name="longitudinal.ki", description="speed error integral gain", unit="1/s^2", min=0.0, max=10.0)
    )
    integral_limit_mps2: float = field(
        metadata=spec(
            name="longitudinal.integral_limit_mps2",
            description="bound on the integral term",
            unit="m/s^2",
            min=0.0,
            max=5.0,
        )
    )
    grade_feedforward_gain: float = field(
        metadata=spec(
            name="longitudinal.grade_feedforward_gain",
            description="share of g*sin(grade angle) added to the request (1 = full compensation)",
            min=0.0,
            max=1.5,
        )
    )
    grade_feedforward_fade_speed_mps: float = field(
        metadata=spec(
            name="longitudinal.grade_feedforward_fade_speed_mps",
            description="the grade feed-forward fades out linearly up to this speed (0 = never fades: a chassis "
            "without its own grade compensation)",
            unit="m/s",
            min=0.0,
            max=10.0,
        )
    )
    preview_time_s: float = field(
        metadata=spec(
            name="longitudinal.preview_time_s",
            description="the reference is read this far ahead of the vehicle (actuator delay)",
            unit="s",
            min=0.0,
            max=2.0,
        )
    )
    stop_speed_mps: float = field(
        metadata=spec(
            name="longitudinal.stop_speed_mps",
            description="below this speed with a zero reference the vehicle holds",
            unit="m/s",
            min=0.0,
            max=1.0,
        )
    )
    start_speed_mps: float = field(
        metadata=spec(
            name="longitudinal.start_speed_mps",
            description="reference speed that leaves HOLD",
            unit="m/s",
            min=0.0,
            max=2.0,
        )
    )
    stopped_reference_mps: float = field(
        metadata=spec(
            name="longitudinal.stopped_reference_mps",
            description="reference below this counts as 'stop'",
            unit="m/s",
            min=0.0,
            max=1.0,
        )
    )
    hold_accel_mps2: float = field(
        metadata=spec(
            name="longitudinal.hold_accel_mps2",
            description="request while holding at standstill",
            unit="m/s^2",
            min=-5.0,
            max=-0.1,
        )
    )
    max_accel_mps2: float = field(
        metadata=spec(
            name="longitudinal.max_accel_mps2",
            description="largest request of the speed loop",
            unit="m/s^2",
            min=0.1,
            max=5.0,
        )
    )
    min_accel_mps2: float = field(
        metadata=spec(
            name="longitudinal.min_accel_mps2",
            description="most negative request of the speed loop",
            unit="m/s^2",
            min=-8.0,
            max=-0.1,
        )
    )
    antiwindup_time_s: float = field(
        default=0.5,
        metadata=spec(
            name="longitudinal.antiwindup_time_s",
            description="above the speed limit the command gate cuts positive requests; the integral unwinds by "
            "what was cut with this time constant (back-calculation anti-windup; 0 = off)",
            unit="s",
            min=0.0,
            max=10.0,
            optional=True,
        ),
    )
    min_preview_m: float = field(
        default=0.5,
        metadata=spec(
            name="longitudinal.min_preview_m",
            description="at rest and below start_speed, the reference is read at least this far ahead "
            "(a trajectory that starts at 0 m/s under a vehicle at rest still starts it)",
            unit="m",
            min=0.0,
            max=5.0,
            optional=True,
        ),
    )


@dataclass(frozen=True)
class LongInputs:
    speed_mps: float  # measured, signed
    reference_speed_mps: float  # from the trajectory at the preview point
    reference_accel_mps2: float
    grade: float  # rise over run along the heading, + uphill


@dataclass(frozen=True)
class LongStatus:
    state: LongState = LongState.HOLD
    integral: float = 0.0  # m/s^2


def transition(state: LongState, inp: LongInputs, p: LongitudinalParams) -> LongState:
    """Pure transition of the DRIVE / HOLD machine."""
    if state is LongState.DRIVE:
        if inp.reference_speed_mps < p.stopped_reference_mps and abs(inp.speed_mps) < p.stop_speed_mps:
            return LongState.HOLD
        return LongState.DRIVE
    if inp.reference_speed_mps > p.start_speed_mps:
        return LongState.DRIVE
    return LongState.HOLD


def grade_accel(grade: float) -> float:
    """Acceleration (m/s^2) gravity takes along a slope of ``grade`` (rise/run)."""
    return G * math.sin(math.atan(grade))


def grade_feedforward(grade: float, speed_mps: float, p: LongitudinalParams) -> float:
    """The grade share of the request (m/s^2): full at standstill, faded out by ``fade_speed``.

    A chassis that closes its own speed loop (the simulated ECU, most drive-by-wire kits) learns the
    grade in its integral once rolling; adding the full grade to its acceleration target while driving
    would make its speed reference run ahead. At the start its integral is empty: that is where the
    feed-forward keeps the vehicle from rolling back.
    """
    fade = 1.0
    if p.grade_feedforward_fade_speed_mps > 0.0:
        fade = max(0.0, 1.0 - abs(speed_mps) / p.grade_feedforward_fade_speed_mps)
    return p.grade_feedforward_gain * grade_accel(grade) * fade


def update(st: LongStatus, inp: LongInputs, dt: float, p: LongitudinalParams) -> tuple[float, LongStatus]:
    """(acceleration request m/s^2, next status) for one control cycle of ``dt`` s."""
    state = transition(st.state, inp, p)
    if state is LongState.HOLD:
        return p.hold_accel_mps2, LongStatus(state, 0.0)
    err = inp.reference_speed_mps - inp.speed_mps
    # the uphill feed-forward helps to start and to climb, never to stop: with a zero reference it would
    # push a vehicle that is creeping to its stop point up the hill past it (downhill it helps to stop)
    gff = grade_feedforward(inp.grade, inp.speed_mps, p)
    if inp.reference_speed_mps <= p.stopped_reference_mps:
        gff = min(gff, 0.0)
    ff = inp.reference_accel_mps2 + gff
    integral = st.integral
    unclamped = ff + p.kp * err + integral
    if p.min_accel_mps2 < unclamped < p.max_accel_mps2 or (unclamped >= p.max_accel_mps2) != (err > 0.0):
        # integrate only when not saturated, or when the error pulls out of saturation (anti-windup)
        integral = min(max(integral + p.ki * err * dt, -p.integral_limit_mps2), p.integral_limit_mps2)
    accel = min(max(ff + p.kp * err + integral, p.min_accel_mps2), p.max_accel_mps2)
    return accel, LongStatus(state, integral)



def unwind(st: LongStatus, cut_mps2: float, dt: float, p: LongitudinalParams) -> LongStatus:
    """Back-calculation anti-windup against the command gate's speed limit: ``cut_mps2`` (<= 0) is what the
    gate removed from a positive request because the vehicle was above the speed limit. The integral, wound
    up while the vehicle lagged the speed profile at the start (the error is positive for seconds), otherwise
    kept the request ~0.35 m/s^2 too high at cruise: the gate cut it to 0 above the limit and let it through
    below, a 1 Hz cycle of +0.15 m/s^2 pulses that lasted as long as the small cruise errors took to unwind
    it (minutes). It now follows the cut with ``antiwindup_time_s``."""
    if cut_mps2 >= 0.0 or p.antiwindup_time_s <= 0.0 or st.state is not LongState.DRIVE:
        return st
    integral = max(st.integral + cut_mps2 * dt / p.antiwindup_time_s, min(st.integral, 0.0))
    return LongStatus(st.state, integral)
