"""Hints and the client core: signals per movement, emergency vehicle, blind spot, crossings,
red-light warning, RSI zones, remote objects."""

from __future__ import annotations

import dataclasses
import math

import pytest

from lsv_v2x_client import hints as H
from lsv_v2x_client import samples, timeref
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.messages import LightState, PhaseStep
from lsv_v2x_client.params import V2xClientParams, params_from_yaml
from lsv_v2x_client.projection import LocalProjection

NS = timeref.NS
MOY = 470_000
MSG_NS = timeref.year_start_ns(2026) + MOY * timeref.MINUTE_NS + 12_000 * timeref.MS
PROJ = LocalProjection(samples.CENTRE.lat_deg, samples.CENTRE.lon_deg)
P = H.HintParams()
LANES = H.map_geometry(samples.map_message(), PROJ)
NORTH = math.pi / 2


def xy(east: float, north: float) -> tuple[float, float]:
    p = samples.offset_point(samples.CENTRE, east, north)
    return PROJ.forward_point(p.lat_deg, p.lon_deg)


def ego(x: float = 1.75, y: float = -30.0, yaw: float = NORTH, speed: float = 4.0, now: int = MSG_NS) -> EgoState:
    return EgoState(x, y, yaw, speed, now)


def test_heading_to_yaw() -> None:
    assert H.heading_to_yaw(0.0) == pytest.approx(math.pi / 2)
    assert H.heading_to_yaw(90.0) == pytest.approx(0.0)
    assert H.heading_to_yaw(180.0) == pytest.approx(-math.pi / 2)


def test_map_geometry() -> None:
    assert sum(la.crosswalk for la in LANES) == 4 and len(LANES) == 12
    lane2 = next(la for la in LANES if la.lane_id == 2)
    assert lane2.phases == ((1, 6),) and lane2.half_width == pytest.approx(1.75)
    assert lane2.line[-1] == pytest.approx(xy(1.75, -12.0), abs=0.05)  # stop line


def test_signal_states_per_movement() -> None:
    spat = samples.spat_message(red_phases=(2, 4))
    now = MSG_NS + NS
    states = H.signal_states(spat.intersections[0], MSG_NS, now, LANES)
    assert len(states) == 8  # 4 phases x 2 lanes
    s = next(s for s in states if s.lane_id == 11)  # arm 1 = phase 2: red, likely end 20 s after the message
    assert s.state is LightState.RED and s.connecting_lane_id == 5 and s.phase_id == 2
    assert (s.min_end_ns, s.likely_end_ns, s.max_end_ns) == (MSG_NS + 18 * NS, MSG_NS + 20 * NS, MSG_NS + 25 * NS)
    g = next(s for s in states if s.lane_id == 1)
    assert g.state is LightState.PROTECTED_GREEN
    later = H.signal_states(spat.intersections[0], MSG_NS, MSG_NS + 16 * NS, LANES)
    assert next(s for s in later if s.lane_id == 1).state is LightState.YELLOW
    assert {(s.lane_id, s.state) for s in H.signal_states(spat.intersections[0], MSG_NS, now, [])} == {
        (0, LightState.PROTECTED_GREEN), (0, LightState.RED)}


def test_stop_on_arrival() -> None:
    red_then_green = H.resolve_steps(samples.spat_message().intersections[0].phases[1].steps, MSG_NS)
    assert H.stop_on_arrival(red_then_green, MSG_NS + 10 * NS)
    assert H.stop_on_arrival(red_then_green, MSG_NS + 24 * NS)  # red may last up to its max end (25 s)
    assert not H.stop_on_arrival(red_then_green, MSG_NS + 26 * NS)
    green = H.resolve_steps(samples.spat_message().intersections[0].phases[0].steps, MSG_NS)
    assert not H.stop_on_arrival(green, MSG_NS + 5 * NS)
    assert H.stop_on_arrival(green, MSG_NS + 19 * NS)
    untimed = H.resolve_steps([PhaseStep(LightState.RED)], MSG_NS)
    assert H.stop_on_arrival(untimed, MSG_NS + 100 * NS)


def test_red_light_warning() -> None:
    x, y = xy(1.75, -30.0)
    red = {101: (samples.spat_message(red_phases=(1, 3)), MSG_NS)}
    (w,) = H.red_light_warning(ego(x, y), LANES, red, MSG_NS, P)
    assert w.type is H.HintType.RED_LIGHT_WARNING and w.lane_id == 2 and w.intersection_id == 101 and w.hint_id == 1
    assert w.distance == pytest.approx(18.0, abs=0.1) and w.time_to_path == pytest.approx(4.5, abs=0.05)
    green = {101: (samples.spat_message(red_phases=(2, 4)), MSG_NS)}
    assert H.red_light_warning(ego(x, y), LANES, green, MSG_NS, P) == []  # green for 15 s, arrival in 4.5 s
    assert H.red_light_warning(ego(x, y, speed=0.8), LANES, green, MSG_NS, P)  # arrival in 22 s: red by then
    assert H.red_light_warning(ego(x, y, yaw=-NORTH), LANES, red, MSG_NS, P) == []  # wrong way: not on the lane
    assert H.red_light_warning(ego(x, y, speed=0.0), LANES, red, MSG_NS, P) == []
    past = xy(1.75, -5.0)  # beyond the stop line
    assert H.red_light_warning(ego(*past), LANES, red, MSG_NS, P) == []


def test_emergency_vehicle_time_to_path() -> None:
    ex, ey = xy(1.75, -30.0)
    e = ego(ex, ey)
    bsm = samples.bsm_message(emergency=True, position=samples.offset_point(samples.CENTRE, 60.0, 0.5),
                              heading_deg=270.0, speed_mps=8.0)
    h = H.emergency_hint(bsm, MSG_NS, e, PROJ, P)
    assert h.type is H.HintType.EMERGENCY_VEHICLE and h.valid_until_ns == MSG_NS + NS
    bx, by = xy(60.0, 0.5)  # offset_point is approximate: compare in projected coordinates
    assert h.distance == pytest.approx(math.hypot(bx - ex, by - ey), abs=0.01)
    assert h.time_to_path == pytest.approx((bx - ex - 0.6 - 1.0) / 8.0, abs=0.02)
    assert h.vx == pytest.approx(-8.0, abs=0.01)
    away = dataclasses.replace(bsm, heading_raw=7200)
    assert H.emergency_hint(away, MSG_NS, e, PROJ, P).time_to_path == -1.0
    behind = samples.bsm_message(emergency=True, position=samples.offset_point(samples.CENTRE, 1.75, -50.0),
                                 heading_deg=0.0, speed_mps=10.0)
    t = H.emergency_hint(behind, MSG_NS, e, PROJ, P).time_to_path
    assert t == pytest.approx((50.0 - 30.0 - 0.4) / 10.0, abs=0.05)
    assert not samples.bsm_message().is_emergency
    off_duty = dataclasses.replace(bsm, response_type="nonEmergency", siren_use="notInUse", lights_use="notInUse")
    assert not off_duty.is_emergency


def test_blind_zone() -> None:
    e = ego(0.0, 0.0, yaw=NORTH)
    assert H.in_blind_zone(e, -2.0, -1.0, 0.5, P)  # left, just behind the rear axle
    assert H.in_blind_zone(e, 2.0, -4.0, 0.5, P)  # right, behind the bumper
    assert not H.in_blind_zone(e, 0.0, -3.0, 0.5, P)  # straight behind
    assert not H.in_blind_zone(e, -2.0, 10.0, 0.5, P)  # ahead
    assert not H.in_blind_zone(e, -8.0, 0.0, 0.5, P)  # two lanes over


def test_crossing_hints() -> None:
    e = ego(*xy(1.75, -30.0))
    rsm = samples.rsm_message()
    ped, bike = rsm.participants
    h = H.crossing_hint("rsu", ped, MSG_NS, e, LANES, PROJ, P)
    assert h.type is H.HintType.PEDESTRIAN_CROSSING and h.lane_id == 9 and h.intersection_id == 101
    far = dataclasses.replace(ped, position=samples.offset_point(samples.CENTRE, -40.0, -40.0), speed_raw=0)
    assert H.crossing_hint("rsu", far, MSG_NS, e, LANES, PROJ, P) is None
    jaywalker = dataclasses.replace(ped, position=samples.offset_point(samples.CENTRE, -2.0, -25.0),
                                    heading_raw=7200, speed_raw=75)  # 1.5 m/s east, towards the ego path ahead
    j = H.crossing_hint("rsu", jaywalker, MSG_NS, e, LANES, PROJ, P)
    assert j is not None and j.lane_id == 0 and 0 < j.time_to_path < 4.0
    car = dataclasses.replace(ped, ptc_type="motor")
    assert H.crossing_hint("rsu", car, MSG_NS, e, LANES, PROJ, P) is None
    assert bike.ptc_type == "non-motor"


def test_rsi_hints() -> None:
    now = MSG_NS + NS
    works, limit = H.rsi_hints(samples.rsi_message(), now, now, PROJ, P)
    assert works.type is H.HintType.ROAD_HAZARD and works.event_code == 401 and works.code_kind is H.CodeKind.EVENT
    assert works.radius == pytest.approx(30.0) and len(works.zone) == 4
    assert (works.x, works.y) == pytest.approx(xy(0.0, 60.0), abs=0.05)
    assert works.valid_until_ns == now + 3 * NS and works.confidence == pytest.approx(0.95)
    assert limit.type is H.HintType.SPEED_LIMIT and limit.speed_limit_mps == pytest.approx(15 / 3.6)
    assert limit.hint_id == 258 and limit.code_kind is H.CodeKind.SIGN
    rsi = samples.rsi_message()
    nolimit = dataclasses.replace(rsi, signs=(dataclasses.replace(rsi.signs[0], description="slow"),))
    assert [h.type for h in H.rsi_hints(nolimit, MSG_NS, now, PROJ, P)] == [H.HintType.ROAD_HAZARD]
    assert H.speed_limit_from_text("限速 30 km/h") == pytest.approx(30 / 3.6)


def test_remote_object_classes() -> None:
    ev = H.bsm_object(samples.bsm_message(emergency=True), MSG_NS, PROJ)
    assert ev.classification is H.ObjectClass.EMERGENCY_VEHICLE
    assert H.bsm_class(54) is H.ObjectClass.BUS and H.bsm_class(85) is H.ObjectClass.CYCLIST
    ped, bike = samples.rsm_message().participants
    o = H.participant_object("rsu", ped, MSG_NS, PROJ)
    assert o.classification is H.ObjectClass.PEDESTRIAN and o.height == pytest.approx(1.7)
    assert (o.x, o.y) == pytest.approx(xy(-6.0, -9.0), abs=0.05) and o.yaw == pytest.approx(0.0, abs=1e-6)
    assert H.participant_object("rsu", bike, MSG_NS, PROJ).classification is H.ObjectClass.CYCLIST
    moved = H.predicted(o, MSG_NS + NS // 2)  # 1.4 m/s east for 0.5 s
    assert (moved.x - o.x, moved.y - o.y) == pytest.approx((0.7, 0.0), abs=1e-6)
    assert H.predicted(o, MSG_NS + 10 * NS).x - o.x == pytest.approx(1.4)  # at most 1 s ahead


# ------------------------------------------------------------------------------ core

def params(**changes) -> V2xClientParams:
    return params_from_yaml(**changes)


def test_core_end_to_end() -> None:
    core = V2xClientCore(params())
    c = core.codec
    now = MSG_NS + 200 * timeref.MS
    core.set_ego(ego(*xy(1.75, -30.0), now=now))
    msgs = [samples.map_message(), samples.spat_message(red_phases=(1, 3)),
            samples.bsm_message(emergency=True, position=samples.offset_point(samples.CENTRE, 60, 0.5),
                                heading_deg=270.0), samples.rsm_message(), samples.rsi_message()]
    assert all(core.receive(c.encode(m), "127.0.0.1:1", now) for m in msgs)
    out = core.outputs(now)
    assert len(out.signals) == 8 and {o.classification for o in out.objects} == {
        H.ObjectClass.EMERGENCY_VEHICLE, H.ObjectClass.PEDESTRIAN, H.ObjectClass.CYCLIST}
    types = sorted(h.type for h in out.hints)
    assert types == [H.HintType.PEDESTRIAN_CROSSING, H.HintType.PEDESTRIAN_CROSSING, H.HintType.EMERGENCY_VEHICLE,
                     H.HintType.ROAD_HAZARD, H.HintType.SPEED_LIMIT, H.HintType.RED_LIGHT_WARNING]
    # the same datagrams again: duplicates (MAP is static and simply refreshed)
    for m in msgs:
        core.receive(c.encode(m), "127.0.0.1:1", now + 10 * timeref.MS)
    assert core.drop_counts()["dropped.duplicate"] == 4
    # 2 s later without new messages the moving hints are gone, RSI ones and signals stay
    later = core.outputs(now + 2 * NS)
    assert sorted(h.type for h in later.hints) == [H.HintType.ROAD_HAZARD, H.HintType.SPEED_LIMIT]
    assert len(later.signals) == 8 and later.objects == []
    assert core.outputs(now + 4 * NS).hints == []  # RSI hints end rsi_hint_hold_s after the last RSI


def test_core_without_odometry_and_bad_datagrams() -> None:
    core = V2xClientCore(params(header_length=4))
    c = core.codec
    now = MSG_NS
    hdr = b"OBU1"
    assert not core.receive(hdr + c.encode(samples.bsm_message()), "x:1", now)  # no ego pose
    assert core.receive(hdr + c.encode(samples.spat_message()), "x:1", now)
    assert not core.receive(b"OB", "x:1", now)
    assert not core.receive(hdr + b"\xff" * 5, "x:1", now)
    assert not core.receive(hdr + b"\x00" * 20_000, "x:1", now)
    counts = core.drop_counts()
    assert (counts["dropped.no_ego_pose"], counts["dropped.header"], counts["dropped.malformed"],
            counts["dropped.oversized"]) == (1, 1, 1, 1)
    assert len(core.outputs(now).signals) == 4  # SPaT without MAP: one state per phase, lane 0
    core.set_ego(ego(now=now))
    assert core.ego(now + NS) is None  # odometry older than odometry_timeout_s
