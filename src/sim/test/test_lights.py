"""Traffic-light timing plans."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_sim.lights import LightState, PlanStep, TimingPlan, TrafficLight, segment_crossed

PLAN = TimingPlan((PlanStep(LightState.RED, 20.0), PlanStep(LightState.GREEN, 15.0), PlanStep(LightState.YELLOW, 3.0)))


@pytest.mark.parametrize(("t", "state", "left"), [
    (0.0, LightState.RED, 20.0), (19.9, LightState.RED, 0.1), (20.0, LightState.GREEN, 15.0),
    (34.0, LightState.GREEN, 1.0), (35.0, LightState.YELLOW, 3.0), (38.0, LightState.RED, 20.0),
    (38.0 * 10 + 21.0, LightState.GREEN, 14.0)])
def test_state_and_time_to_change(t: float, state: LightState, left: float) -> None:
    assert PLAN.state_at(t) is state
    assert PLAN.time_to_change_s(t) == pytest.approx(left)


def test_offset_shifts_the_cycle() -> None:
    shifted = TimingPlan(PLAN.steps, offset_s=20.0)
    assert shifted.state_at(0.0) is LightState.GREEN
    assert shifted.state_at(-0.5) is LightState.RED  # negative times wrap too


def test_upcoming_steps_count_down_from_now() -> None:
    up = PLAN.upcoming(30.0, 3)
    assert [s for s, _, _ in up] == [LightState.GREEN, LightState.YELLOW, LightState.RED]
    assert up[0][1:] == pytest.approx((0.0, 5.0))
    assert up[1][1:] == pytest.approx((5.0, 8.0))
    assert up[2][1:] == pytest.approx((8.0, 28.0))


def test_dark_light_and_stop_required() -> None:
    lt = TrafficLight("w", 101, 2, ((0, 0), (0, -3)), 0.0, PLAN)
    assert lt.state_at(1.0) is LightState.RED and lt.state_at(1.0).stop_required
    assert lt.state_at(1.0, dark=True) is LightState.DARK and not LightState.DARK.stop_required
    assert not LightState.YELLOW.stop_required


def test_parse_names_and_invalid_plans() -> None:
    assert LightState.parse("Red") is LightState.RED
    assert LightState.parse("protected_green") is LightState.GREEN
    assert LightState.parse("flashing-yellow") is LightState.FLASHING_YELLOW
    assert int(LightState.GREEN) == 6  # TrafficSignal.STATE_PROTECTED_GREEN
    with pytest.raises(ValueError):
        TimingPlan(())
    with pytest.raises(ValueError):
        TimingPlan((PlanStep(LightState.RED, 0.0),))


def test_segment_crossed() -> None:
    a, b = np.array([0.0, -1.0]), np.array([0.0, 1.0])
    assert segment_crossed(np.array([-0.1, 0.0]), np.array([0.1, 0.0]), a, b)
    assert not segment_crossed(np.array([-0.3, 0.0]), np.array([-0.1, 0.0]), a, b)
    assert not segment_crossed(np.array([-0.1, 2.0]), np.array([0.1, 2.0]), a, b)  # beside the line
