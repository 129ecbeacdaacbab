"""The simulated road-side unit (lsv_sim.rsu) through the client core: a cycle of the fixed-time plan."""

from __future__ import annotations

import math

import pytest

from lsv_sim import rsu as rsu_mod
from lsv_v2x_client import samples, timeref
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.hints import HintType
from lsv_v2x_client.messages import LightState
from lsv_v2x_client.params import params_from_yaml
from lsv_v2x_client.projection import LocalProjection

PROJ = LocalProjection(samples.CENTRE.lat_deg, samples.CENTRE.lon_deg)


def xy(east: float, north: float) -> tuple[float, float]:
    p = samples.offset_point(samples.CENTRE, east, north)
    return PROJ.forward_point(p.lat_deg, p.lon_deg)


def test_rsu_cycle_through_core() -> None:
    rsu = rsu_mod.SimulatedRsu()
    core = V2xClientCore(params_from_yaml())
    t0 = timeref.year_start_ns(2026) + 470_000 * timeref.MINUTE_NS  # a multiple of the 40 s cycle
    assert (t0 // timeref.NS) % 40 == 0
    x, y = xy(1.75, -30.0)
    seen: dict[int, set] = {1: set(), 2: set()}
    hint_types: set = set()
    for step in range(400):  # 40 s at 10 Hz
        now = t0 + step * 100 * timeref.MS
        core.set_ego(EgoState(x, y, math.pi / 2, 4.0, now))
        for msg in rsu.messages(now):
            assert core.receive(core.codec.encode(msg), "127.0.0.1:9", now), (step, msg.kind)
        out = core.outputs(now)
        for s in out.signals:
            if s.phase_id in seen:
                seen[s.phase_id].add(s.state)
        hint_types |= {h.type for h in out.hints}
        if step == 50:  # 5 s into the cycle: phase 1 green for 10 s more, phase 2 red for 15 s more
            s1 = next(s for s in out.signals if s.phase_id == 1 and s.lane_id == 2)
            s2 = next(s for s in out.signals if s.phase_id == 2)
            assert s1.state is LightState.PROTECTED_GREEN and s1.likely_end_ns == t0 + 15 * timeref.NS
            assert s2.state is LightState.RED and s2.likely_end_ns == t0 + 20 * timeref.NS
    assert seen[1] == {LightState.PROTECTED_GREEN, LightState.YELLOW, LightState.RED}
    assert seen[2] == {LightState.PROTECTED_GREEN, LightState.YELLOW, LightState.RED}
    assert {HintType.PEDESTRIAN_CROSSING, HintType.ROAD_HAZARD, HintType.SPEED_LIMIT,
            HintType.RED_LIGHT_WARNING} <= hint_types
    assert sum(v for k, v in core.drop_counts().items() if k.startswith("dropped.")) == 0
    assert samples.CENTRE.lat_deg == pytest.approx(rsu.params.centre_lat_deg)
