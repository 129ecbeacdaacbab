"""Every transition of the minimal-risk manoeuvre state machine."""

from __future__ import annotations

import pytest

from lsv_control.mrm import MrmInputs, MrmParams, MrmState, MrmStatus, transition

P = MrmParams(comfortable_decel_mps2=1.0, emergency_decel_mps2=3.0, resume_delay_s=1.0,
              emergency_resume_delay_s=5.0, standstill_speed_mps=0.05)
N, C, E, S = MrmState.NORMAL, MrmState.COMFORTABLE_STOP, MrmState.EMERGENCY_STOP, MrmState.STOPPED


def inp(comfortable: str = "", emergency: str = "", standstill: bool = False, clear_for_s: float = 0.0) -> MrmInputs:
    return MrmInputs(comfortable, emergency, standstill, clear_for_s)


@pytest.mark.parametrize(("start", "inputs", "expected", "cause"), [
    # NORMAL
    (MrmStatus(N, ""), inp(clear_for_s=10.0), N, ""),
    (MrmStatus(N, ""), inp(comfortable="odometry stale"), C, "odometry stale"),
    (MrmStatus(N, ""), inp(emergency="e-stop"), E, "e-stop"),
    (MrmStatus(N, ""), inp(comfortable="odometry stale", emergency="e-stop"), E, "e-stop"),  # emergency wins
    # COMFORTABLE_STOP
    (MrmStatus(C, "odometry stale"), inp(comfortable="odometry stale"), C, "odometry stale"),
    (MrmStatus(C, "odometry stale"), inp(emergency="obstacle"), E, "obstacle"),
    (MrmStatus(C, "odometry stale"), inp(comfortable="odometry stale", standstill=True), S, "odometry stale"),
    (MrmStatus(C, "odometry stale"), inp(clear_for_s=0.5), C, "odometry stale"),  # not clear long enough
    (MrmStatus(C, "odometry stale"), inp(clear_for_s=1.0), N, ""),  # recovered while rolling
    # EMERGENCY_STOP: always completes
    (MrmStatus(E, "e-stop", True), inp(emergency="e-stop"), E, "e-stop"),
    (MrmStatus(E, "e-stop", True), inp(clear_for_s=100.0), E, "e-stop"),
    (MrmStatus(E, "e-stop", True), inp(clear_for_s=100.0, standstill=True), S, "e-stop"),
    # STOPPED
    (MrmStatus(S, "trajectory stale"), inp(comfortable="trajectory stale", standstill=True), S, "trajectory stale"),
    (MrmStatus(S, "trajectory stale"), inp(standstill=True, clear_for_s=0.9), S, "trajectory stale"),
    (MrmStatus(S, "trajectory stale"), inp(standstill=True, clear_for_s=1.0), N, ""),
    (MrmStatus(S, "e-stop", True), inp(standstill=True, clear_for_s=4.9), S, "e-stop"),  # latched
    (MrmStatus(S, "e-stop", True), inp(standstill=True, clear_for_s=5.0), N, ""),
    (MrmStatus(S, "trajectory stale"), inp(comfortable="odometry stale"), C, "odometry stale"),  # rolling again
    (MrmStatus(S, "trajectory stale"), inp(emergency="obstacle"), E, "obstacle"),
    (MrmStatus(S, "trajectory stale"), inp(emergency="obstacle", standstill=True), S, "trajectory stale"),
])
def test_transition(start: MrmStatus, inputs: MrmInputs, expected: MrmState, cause: str) -> None:
    out = transition(start, inputs, P)
    assert out.state is expected
    assert out.cause == cause


def test_latch_survives_comfortable_detour() -> None:
    st = MrmStatus(S, "e-stop", True)
    st = transition(st, inp(comfortable="odometry stale"), P)
    assert st.state is C and st.latched
    st = transition(st, inp(standstill=True), P)
    assert st.state is S and st.latched
    assert transition(st, inp(clear_for_s=1.0, standstill=True), P).state is S  # the emergency delay still applies


def test_initial_state_is_stopped() -> None:
    assert MrmStatus().state is S
