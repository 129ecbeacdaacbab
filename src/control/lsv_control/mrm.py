"""Minimal-risk manoeuvre: a pure state machine (DESIGN.md section 5).

    NORMAL           --comfortable cause-->           COMFORTABLE_STOP (-1.0 m/s^2)
    NORMAL           --emergency cause-->             EMERGENCY_STOP   (-3.0 m/s^2)
    COMFORTABLE_STOP --emergency cause-->             EMERGENCY_STOP
    COMFORTABLE_STOP --standstill-->                  STOPPED
    COMFORTABLE_STOP --all clear for resume_delay-->  NORMAL   (the fault went away while still rolling)
    EMERGENCY_STOP   --standstill-->                  STOPPED  (latched: an emergency stop always completes)
    STOPPED          --moving and a cause-->          COMFORTABLE_STOP / EMERGENCY_STOP
    STOPPED          --all clear for resume_delay-->  NORMAL   (emergency_resume_delay after an emergency)

Comfortable causes: a stale or missing required input, a node reporting ERROR (or silent) on
/diagnostics, a chassis fault. Emergency causes: e-stop, an obstacle inside the stopping distance.
An emergency cause always wins over a comfortable one. ``transition`` is pure; the controller
keeps the ``MrmStatus`` and feeds it the causes of each cycle.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lsv_common.params import spec


class MrmState(enum.Enum):
    NORMAL = "NORMAL"
    COMFORTABLE_STOP = "COMFORTABLE_STOP"
    EMERGENCY_STOP = "EMERGENCY_STOP"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class MrmParams:
    comfortable_decel_mps2: float = field(
        metadata=spec(
            name="mrm.comfortable_decel_mps2",
            description="deceleration of the comfortable stop",
            unit="m/s^2",
            min=0.3,
            max=3.0,
        )
    )
    emergency_decel_mps2: float = field(
        metadata=spec(
            name="mrm.emergency_decel_mps2",
            description="deceleration of the emergency stop",
            unit="m/s^2",
            min=1.0,
            max=8.0,
        )
    )
    resume_delay_s: float = field(
        metadata=spec(
            name="mrm.resume_delay_s",
            description="all inputs healthy this long before NORMAL resumes after a comfortable stop",
            unit="s",
            min=0.0,
            max=60.0,
        )
    )
    emergency_resume_delay_s: float = field(
        metadata=spec(
            name="mrm.emergency_resume_delay_s",
            description="all clear this long before NORMAL resumes after an emergency stop",
            unit="s",
            min=0.0,
            max=1e6,
        )
    )
    standstill_speed_mps: float = field(
        metadata=spec(
            name="mrm.standstill_speed_mps",
            description="below this speed the vehicle is at a standstill",
            unit="m/s",
            min=0.0,
            max=0.5,
        )
    )


@dataclass(frozen=True)
class MrmInputs:
    comfortable_cause: str  # "" = none
    emergency_cause: str  # "" = none
    standstill: bool
    clear_for_s: float  # time since the last cause went away (0 while one is present)


@dataclass(frozen=True)
class MrmStatus:
    state: MrmState = MrmState.STOPPED
    cause: str = "startup: waiting for inputs"
    latched: bool = False  # the last stop was an emergency stop


def transition(st: MrmStatus, inp: MrmInputs, p: MrmParams) -> MrmStatus:
    """Next MRM status from this cycle's causes (pure)."""
    s = st.state
    if s is MrmState.NORMAL:
        if inp.emergency_cause:
            return MrmStatus(MrmState.EMERGENCY_STOP, inp.emergency_cause, True)
        if inp.comfortable_cause:
            return MrmStatus(MrmState.COMFORTABLE_STOP, inp.comfortable_cause, False)
        return st
    if s is MrmState.COMFORTABLE_STOP:
        if inp.emergency_cause:
            return MrmStatus(MrmState.EMERGENCY_STOP, inp.emergency_cause, True)
        if inp.standstill:
            return MrmStatus(MrmState.STOPPED, st.cause, st.latched)
        delay = p.emergency_resume_delay_s if st.latched else p.resume_delay_s
        if not inp.comfortable_cause and inp.clear_for_s >= delay:
            return MrmStatus(MrmState.NORMAL, "", False)
        return st
    if s is MrmState.EMERGENCY_STOP:
        if inp.standstill:
            return MrmStatus(MrmState.STOPPED, st.cause, True)
        return st
    # STOPPED
    if not inp.standstill and inp.emergency_cause:
        return MrmStatus(MrmState.EMERGENCY_STOP, inp.emergency_cause, True)
    if not inp.standstill and inp.comfortable_cause:
        return MrmStatus(MrmState.COMFORTABLE_STOP, inp.comfortable_cause, st.latched)
    if not inp.emergency_cause and not inp.comfortable_cause:
        delay = p.emergency_resume_delay_s if st.latched else p.resume_delay_s
        if inp.clear_for_s >= delay:
            return MrmStatus(MrmState.NORMAL, "", False)
    return st
