"""Signalised stop lines (pure).

A V2X / perception ``TrafficSignal`` matches a stop line of the route through the map's
``traffic_light`` regulatory element: by ``lanelet_id`` (a lanelet that references the light) or
by (``intersection_id``, ``phase_id``) = the element's ``lsv:intersection_id`` / ``lsv:phase_id``
tags. Per stop line a small state machine decides (``transition``):

- GO when every matched signal will be green on the estimated arrival (plus a time margin);
- otherwise STOP, except in the dilemma zone: the light is changing (green/yellow now) and
  stopping needs more than the comfortable deceleration -> COMMITTED (proceed);
- a red / unknown light that cannot be stopped for even with the hardest deceleration (the
  vehicle is at the line) -> COMMITTED as well; COMMITTED returns to STOP once a comfortable
  stop is possible again.

No fresh signal for a signalised line = unknown = stop (V2X is advice: it can only make the
vehicle more careful, and a green never overrides an obstacle - obstacles are separate stops).

Two sources (``fuse``): V2X SPaT (with the timing: when the state ends) and the camera's
perceived light state (the colour now, no timing; only within sight of the head). Where both
see the same colour the V2X signal alone counts (it adds the timing); where they disagree both
count, so the more careful one decides (a perceived red stops the vehicle whatever V2X says);
without V2X the perceived colour decides, a perceived green being green until further notice.

V2X is advice, never permission (``credible_v2x``): a V2X state that would let the vehicle
proceed - a green, or a yellow that could commit it in the dilemma zone - counts only when it
is authenticated (a signed SPaT from a road-side unit in the v2x_client's trust store) or the
camera sees green at that line. Otherwise it is left out: with no other state the line is
unknown, and the vehicle approaches so that it stops at the line and crosses on a camera green.
An unauthenticated red or dark state still counts (it can only make the vehicle more careful).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

from lsv_planning.behaviours.common import StopPoint, stopping_decel
from lsv_planning.inputs import (
    NS,
    STATE_FLASHING_GREEN,
    STATE_FLASHING_RED,
    STATE_FLASHING_YELLOW,
    STATE_PERMISSIVE_GREEN,
    STATE_PROTECTED_GREEN,
    STATE_RED,
    STATE_YELLOW,
    Signal,
)
from lsv_planning.lanelet_map import SignalStopLine

GREEN_STATES = frozenset({STATE_PERMISSIVE_GREEN, STATE_PROTECTED_GREEN,
                          STATE_FLASHING_YELLOW})  # flashing yellow: signal off duty, proceed with care
CHANGING_STATES = frozenset({STATE_YELLOW, STATE_FLASHING_GREEN})  # green ending: next is red
RED_STATES = frozenset({STATE_RED, STATE_FLASHING_RED})


class LightDecision(enum.Enum):
    STOP = "stop"
    GO = "go"
    COMMITTED = "committed"  # dilemma zone or too close to stop: proceed


@dataclass(frozen=True)
class LightInputs:
    """What one cycle knows about one stop line ahead."""

    green_on_arrival: bool  # every matched signal green at the estimated arrival (False if unknown)
    changing: bool  # some matched signal is green or yellow now (so the light is changing, not red)
    required_decel: float  # m/s^2 to stop at the stop point (inf when past it)
    comfort_decel: float
    max_decel: float


def transition(prev: LightDecision | None, u: LightInputs) -> LightDecision:
    """Next decision for one stop line; ``prev`` None = first cycle seeing it."""
    if u.green_on_arrival:
        return LightDecision.GO
    if u.changing and prev in (None, LightDecision.GO, LightDecision.COMMITTED) \
            and u.required_decel > u.comfort_decel:
        return LightDecision.COMMITTED  # dilemma zone: stopping would need more than a comfortable stop
    if prev == LightDecision.COMMITTED and u.required_decel > u.comfort_decel:
        return LightDecision.COMMITTED  # once committed, no hard braking at the line
    if u.required_decel > u.max_decel:
        return LightDecision.COMMITTED  # cannot stop before the line any more
    return LightDecision.STOP


def matches(line: SignalStopLine, sig: Signal) -> bool:
    if sig.lanelet_id and sig.lanelet_id in line.lanelet_ids:
        return True
    return bool(line.intersection_id) and sig.intersection_id == line.intersection_id \
        and sig.phase_id == line.phase_id


def colour(state: int) -> str:
    """'green' | 'changing' | 'red' | 'unknown' (dark, unavailable) of a SPaT light state."""
    if state in GREEN_STATES:
        return "green"
    if state in CHANGING_STATES:
        return "changing"
    return "red" if state in RED_STATES else "unknown"


def credible_v2x(v2x: list[Signal], perceived: list[Signal]) -> tuple[list[Signal], int]:
    """The V2X states of one stop line that may count, and how many were left out: an unauthenticated
    green or yellow counts only when the camera sees green there (a forged SPaT must not be permission)."""
    confirmed = any(colour(s.state) == "green" for s in perceived)
    kept = [s for s in v2x if s.authenticated or confirmed or colour(s.state) in ("red", "unknown")]
    return kept, len(v2x) - len(kept)


def fuse(v2x: list[Signal], perceived: list[Signal]) -> list[Signal]:
    """The signals of one stop line from both sources: a perceived signal that shows a colour V2X
    also reports is dropped (V2X has the timing), one that contradicts V2X is kept (all must be
    green to go, so the more careful source wins)."""
    seen = {colour(s.state) for s in v2x}
    return v2x + [s for s in perceived if colour(s.state) not in seen]


def arrival_time_s(distance: float, speed: float, cruise: float, accel: float) -> float:
    """Earliest arrival (s) over ``distance`` from ``speed``, accelerating at ``accel`` up to ``cruise``."""
    if distance <= 0:
        return 0.0
    v, vc = max(speed, 0.0), max(cruise, 0.1)
    if v >= vc:
        return distance / v
    d_acc = (vc * vc - v * v) / (2.0 * accel)
    if d_acc >= distance:
        return (-v + math.sqrt(v * v + 2.0 * accel * distance)) / accel
    return (vc - v) / accel + (distance - d_acc) / vc


def green_on_arrival(signals: Iterable[Signal], now_ns: int, arrival_s: float, margin_s: float) -> tuple[bool, bool]:
    """(all matched signals green at arrival, some is green/yellow now). No signal -> (False, False)."""
    sigs = list(signals)
    if not sigs:
        return False, False
    arrive_ns = now_ns + int(arrival_s * NS)
    margin_ns = int(margin_s * NS)
    ok = True
    changing = False
    for s in sigs:
        if s.state in GREEN_STATES:
            changing = True
            end = s.min_end_ns or s.likely_end_ns  # earliest end known = conservative
            ok &= end == 0 or end > arrive_ns + margin_ns
        elif s.state in CHANGING_STATES:
            changing = True
            ok = False
        elif s.state in RED_STATES:
            end = s.max_end_ns or s.likely_end_ns  # latest end known = conservative
            ok &= end != 0 and end + margin_ns <= arrive_ns
        else:  # unavailable, dark: unknown
            ok = False
    return ok, changing


@dataclass(frozen=True)
class LineAhead:
    line: SignalStopLine
    s: float  # arc length of the stop line on the reference path


def evaluate(lines: Iterable[LineAhead], prev: dict[int, LightDecision], signals: Iterable[Signal] | None,
             now_ns: int, ego_s: float, speed: float, cruise: float, *, front_m: float, margin_m: float,
             accel: float, comfort_decel: float, max_decel: float, time_margin_s: float,
             perceived: Iterable[Signal] | None = None,
             ) -> tuple[list[StopPoint], dict[int, LightDecision], list[dict]]:
    """Decide every stop line ahead. ``signals`` (V2X) and ``perceived`` (camera) None = no fresh
    signals from that source; none from either = unknown.

    Returns the stop points, the new decision per stop-line id and a report per line."""
    sigs = list(signals or ())
    seen = list(perceived or ())
    stops: list[StopPoint] = []
    decisions: dict[int, LightDecision] = {}
    report = []
    for la in lines:
        stop_s = la.s - margin_m - front_m
        front_to_line = la.s - (ego_s + front_m)
        if front_to_line < -0.5:
            continue  # passed
        from_v2x = [s for s in sigs if matches(la.line, s)]
        from_camera = [s for s in seen if matches(la.line, s)]
        credible, unconfirmed = credible_v2x(from_v2x, from_camera)
        matched = fuse(credible, from_camera)
        t_arr = arrival_time_s(max(front_to_line, 0.0), speed, cruise, accel)
        green, changing = green_on_arrival(matched, now_ns, t_arr, time_margin_s)
        # can the vehicle still stop before the line itself? (the stop point keeps margin_m more; a few cm
        # past the stop point at walking pace is not a reason to run the light)
        u = LightInputs(green, changing, stopping_decel(speed, front_to_line), comfort_decel, max_decel)
        d = transition(prev.get(la.line.stop_line_id), u)
        decisions[la.line.stop_line_id] = d
        states = sorted({s.state for s in matched})
        if d == LightDecision.STOP:
            reason = "red_light" if matched else "unknown_signal"
            stops.append(StopPoint(stop_s, reason, f"stop line {la.line.stop_line_id} (intersection "
                                                   f"{la.line.intersection_id} phase {la.line.phase_id}) states "
                                                   f"{states or 'none'}"
                                                   + (f", {unconfirmed} unauthenticated V2X state(s) without a "
                                                      f"camera green ignored" if unconfirmed else "")))
        sources = [name for name, found in (("v2x", from_v2x), ("camera", from_camera)) if found]
        report.append({"stop_line": la.line.stop_line_id, "intersection_id": la.line.intersection_id,
                       "phase_id": la.line.phase_id, "distance_m": round(front_to_line, 2),
                       "states": states, "sources": sources, "arrival_s": round(t_arr, 2), "decision": d.value,
                       "v2x_authenticated": any(s.authenticated for s in from_v2x),
                       "unconfirmed_v2x": unconfirmed})
    return stops, decisions, report
