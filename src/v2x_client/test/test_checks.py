"""Checks: freshness, plausibility, duplicates/replays, rate limits, drop counting; time marks; projection."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lsv_v2x_client import samples, timeref
from lsv_v2x_client.checks import CheckParams, DropReason, EgoState, MessageChecker, spat_step_plausible
from lsv_v2x_client.messages import LightState, PhaseStep
from lsv_v2x_client.projection import WGS84_A, WGS84_E2, LocalProjection

MOY = 470_000
MSG_NS = timeref.year_start_ns(2026) + MOY * timeref.MINUTE_NS + 12_000 * timeref.MS  # the samples' time
NS = timeref.NS
PROJ = LocalProjection(samples.CENTRE.lat_deg, samples.CENTRE.lon_deg)


def ego_at(now_ns: int, x: float = 0.0, y: float = -30.0) -> EgoState:
    return EgoState(x, y, math.pi / 2, 4.0, now_ns)


@pytest.fixture
def checker() -> MessageChecker:
    return MessageChecker(CheckParams(), PROJ)


def check(checker: MessageChecker, msg, now_ns: int, digest: int = 1, ego: EgoState | None = None, sender="a:1"):
    return checker.check(msg, sender, digest, now_ns, ego if ego is not None else ego_at(now_ns))


def test_fresh_messages_pass(checker: MessageChecker) -> None:
    now = MSG_NS + 200 * timeref.MS
    for msg in (samples.bsm_message(), samples.spat_message(), samples.rsm_message(), samples.rsi_message(),
                samples.map_message()):
        assert check(checker, msg, now) is not None, msg.kind
    assert sum(checker.counts.values()) == 0


@pytest.mark.parametrize(("msg", "age_s", "reason"), [
    (samples.bsm_message(), 1.5, DropReason.STALE),
    (samples.bsm_message(), 0.9, None),
    (samples.bsm_message(), -1.0, DropReason.FUTURE),
    (samples.rsm_message(), 1.5, DropReason.STALE),
    (samples.spat_message(), 4.5, None),
    (samples.spat_message(), 5.5, DropReason.STALE),
    (samples.rsi_message(), 100.0, None),
    (samples.rsi_message(), 200.0, DropReason.STALE),
])
def test_freshness(checker: MessageChecker, msg, age_s: float, reason: DropReason | None) -> None:
    now = MSG_NS + int(age_s * NS)
    assert (check(checker, msg, now) is None) == (reason is not None)
    if reason is not None:
        assert checker.counts == {reason: 1}


def test_invalid_time_marks(checker: MessageChecker) -> None:
    assert check(checker, dataclasses.replace(samples.bsm_message(), sec_mark_ms=65535), MSG_NS) is None
    spat = dataclasses.replace(samples.spat_message(), moy=None, timestamp_ms=None)
    spat = dataclasses.replace(spat, intersections=tuple(dataclasses.replace(i, moy=None, timestamp_ms=None)
                                                         for i in spat.intersections))
    assert check(checker, spat, MSG_NS) is None
    assert checker.counts == {DropReason.TIME_INVALID: 2}


def test_sec_mark_wraps_around_the_minute() -> None:
    now = timeref.year_start_ns(2026) + 5 * timeref.MINUTE_NS + 200 * timeref.MS  # 0.2 s into a minute
    t = timeref.resolve_sec_mark(59_900, now)  # sent 0.3 s ago, in the previous minute
    assert now - t == 300 * timeref.MS
    assert timeref.resolve_sec_mark(60_500, now) is None  # leap second / invalid


def test_moy_around_new_year() -> None:
    now = timeref.year_start_ns(2027) + 10 * NS
    t = timeref.resolve_moy(525_599, now)  # 31 Dec 23:59 of 2026 (365 days)
    assert 0 < now - t <= 70 * NS
    assert timeref.resolve_moy(527_040, now) is None


def test_utc_time_marks_around_the_hour() -> None:
    ref = timeref.year_start_ns(2026) + 3 * timeref.HOUR_NS + 10 * NS  # 10 s past the hour
    assert timeref.resolve_hour_tenths(35_950, ref) == ref - 15 * NS  # 5 s before the hour
    assert timeref.resolve_hour_tenths(36_001, ref) is None


@pytest.mark.parametrize(("change", "reason"), [
    (dict(speed_raw=3000), DropReason.IMPLAUSIBLE),  # 60 m/s
    (dict(heading_raw=28900), DropReason.IMPLAUSIBLE),
    (dict(length_cm=4000), DropReason.IMPLAUSIBLE),
    (dict(position=samples.offset_point(samples.CENTRE, 0.0, 900.0)), DropReason.OUT_OF_RANGE),  # 930 m from ego
    (dict(position=samples.offset_point(samples.CENTRE, 0.0, 30_000.0)), DropReason.OUT_OF_RANGE),  # off the map
    (dict(position=dataclasses.replace(samples.CENTRE, lat_e7=900_000_001)), DropReason.IMPLAUSIBLE),
    (dict(speed_raw=8191), None),  # unavailable speed is allowed
])
def test_plausibility(checker: MessageChecker, change: dict, reason: DropReason | None) -> None:
    msg = dataclasses.replace(samples.bsm_message(), **change)
    assert (check(checker, msg, MSG_NS) is None) == (reason is not None)
    if reason is not None:
        assert checker.counts == {reason: 1}


def test_no_ego_pose_drops_position_dependent(checker: MessageChecker) -> None:
    for msg in (samples.bsm_message(), samples.rsm_message(), samples.rsi_message()):
        assert checker.check(msg, "a:1", 1, MSG_NS, None) is None
    assert checker.counts == {DropReason.NO_EGO_POSE: 3}
    assert checker.check(samples.spat_message(), "a:1", 1, MSG_NS, None) is not None
    assert checker.check(samples.map_message(), "a:1", 1, MSG_NS, None) is not None


def test_rsm_keeps_good_participants(checker: MessageChecker) -> None:
    rsm = samples.rsm_message()
    far = dataclasses.replace(rsm.participants[0], ptc_id=99, position=samples.offset_point(samples.CENTRE, 0, 800))
    old = dataclasses.replace(rsm.participants[1], ptc_id=98, sec_mark_ms=8_000)
    out = check(checker, dataclasses.replace(rsm, participants=(*rsm.participants, far, old)), MSG_NS)
    assert [p.ptc_id for p in out.message.participants] == [12, 13]
    assert checker.element_counts == {DropReason.OUT_OF_RANGE: 1, DropReason.STALE: 1}
    assert not checker.counts


def test_rsi_expired_items(checker: MessageChecker) -> None:
    rsi = samples.rsi_message()
    ended = dataclasses.replace(rsi.events[0], rte_id=9, end_moy=MOY - 1)
    out = check(checker, dataclasses.replace(rsi, events=(*rsi.events, ended)), MSG_NS)
    assert [e.rte_id for e in out.message.events] == [1]
    assert checker.element_counts == {DropReason.EXPIRED: 1}


def test_speed_limit_sign_needs_a_value(checker: MessageChecker) -> None:
    rsi = samples.rsi_message()
    unreadable = dataclasses.replace(rsi.signs[0], rts_id=7, description="slow down")
    out = check(checker, dataclasses.replace(rsi, signs=(*rsi.signs, unreadable)), MSG_NS)
    assert [s.rts_id for s in out.message.signs] == [2]
    assert checker.element_counts == {DropReason.IMPLAUSIBLE: 1}


def test_duplicate_and_replay(checker: MessageChecker) -> None:
    bsm = samples.bsm_message(msg_count=10, sec_mark_ms=12_000)
    assert check(checker, bsm, MSG_NS, digest=111) is not None
    assert check(checker, bsm, MSG_NS + 50 * timeref.MS, digest=111) is None  # same counter, same content
    newer = samples.bsm_message(msg_count=11, sec_mark_ms=12_100)
    assert check(checker, newer, MSG_NS + 150 * timeref.MS, digest=222) is not None
    older = samples.bsm_message(msg_count=9, sec_mark_ms=11_900)  # fresh enough, but older than one accepted
    assert check(checker, older, MSG_NS + 160 * timeref.MS, digest=333) is None
    assert checker.counts == {DropReason.DUPLICATE: 1, DropReason.REPLAY: 1}
    # after the duplicate window the same counter with new content is a new message
    later = samples.bsm_message(msg_count=10, sec_mark_ms=15_000)
    assert check(checker, later, MSG_NS + 3 * NS, digest=444) is not None


def test_rate_limit_per_source(checker: MessageChecker) -> None:
    p = checker.params
    results = []
    for i in range(40):  # 40 messages within 0.2 s from one vehicle
        msg = samples.bsm_message(msg_count=i % 128, sec_mark_ms=12_000 + i * 5)
        results.append(check(checker, msg, MSG_NS + i * 5 * timeref.MS, digest=i) is not None)
    assert sum(results) <= p.rate_burst + 0.2 * p.rate_limit_hz + 1
    assert checker.counts[DropReason.RATE_LIMITED] == 40 - sum(results)
    other = samples.bsm_message(vehicle_id=b"\x00" * 8)  # another source is not limited by the first
    assert check(checker, other, MSG_NS + 200 * timeref.MS, digest=999) is not None


def test_too_many_sources() -> None:
    checker = MessageChecker(CheckParams(max_sources=8), PROJ)
    for i in range(10):
        msg = samples.bsm_message(vehicle_id=i.to_bytes(8, "big"))
        check(checker, msg, MSG_NS, digest=i)
    assert checker.counts == {DropReason.TOO_MANY_SOURCES: 2}


def test_spat_timing_plausibility(checker: MessageChecker) -> None:
    assert spat_step_plausible(PhaseStep(LightState.RED, "counting", 0, 100, 200, 150))
    assert not spat_step_plausible(PhaseStep(LightState.RED, "counting", 0, 180, 120, 150))  # min > max
    assert not spat_step_plausible(PhaseStep(LightState.RED, "counting", 100, None, None, 50))  # ends before start
    spat = samples.spat_message()
    bad_phase = dataclasses.replace(spat.intersections[0].phases[0],
                                    steps=(PhaseStep(LightState.RED, "counting", 0, 300, 400, 200),))
    bad = dataclasses.replace(spat, intersections=(dataclasses.replace(spat.intersections[0], phases=(bad_phase,)),))
    assert check(checker, bad, MSG_NS) is None
    assert checker.counts == {DropReason.IMPLAUSIBLE: 1}


# ------------------------------------------------------------------------------ projection

def test_projection_round_trip_and_scale() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-3000, 3000, 500), rng.uniform(-3000, 3000, 500)
    lat, lon = PROJ.inverse(x, y)
    x2, y2 = PROJ.forward(lat, lon)
    assert np.max(np.hypot(x2 - x, y2 - y)) < 1e-3
    # 100 m north / east against the ellipsoid's radii of curvature at the origin
    phi = math.radians(PROJ.lat0)
    m = WGS84_A * (1 - WGS84_E2) / (1 - WGS84_E2 * math.sin(phi) ** 2) ** 1.5
    n = WGS84_A / math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
    _, yn = PROJ.forward_point(PROJ.lat0 + math.degrees(100.0 / m), PROJ.lon0)
    xe, _ = PROJ.forward_point(PROJ.lat0, PROJ.lon0 + math.degrees(100.0 / (n * math.cos(phi))))
    assert yn == pytest.approx(100.0, abs=0.01) and xe == pytest.approx(100.0, abs=0.01)
    with pytest.raises(ValueError):
        LocalProjection(95.0, 0.0)
