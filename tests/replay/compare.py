"""Summaries of replayed outputs that are robust to scheduling jitter, and their comparison with
the reference stored next to the bag (``tests/data/<bag>.ref.json``).

What is compared is a node's *decisions*, not its raw message stream: the planner's sequence of
(state, reason) events with their simulated times and where it puts its stops; the localizer's
position error against ground truth; the controller's state sequence and command statistics.
A real behaviour change (a stop no longer made, made elsewhere, a state sequence that differs)
fails with a readable diff; a message that came 30 ms later does not.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

NS = 1_000_000_000
# s, a (state, reason) that lasts less than this (10 planner cycles) is jitter, not a decision: two
# scene events a few tenths of a second apart (a light turning green just before a pedestrian reaches
# the crosswalk) come in either order on a loaded machine, and the brief decision between them with it
MIN_EVENT_S = 1.0
# s, the same for the V2X client's outputs: they follow the replayed datagrams one to one (no
# second input to race with), and a road-side message that lasts about a second is a real event
V2X_MIN_EVENT_S = 0.35
EVENT_TIME_TOL_S = 2.0  # s, an event may come this much earlier or later than in the reference
STOP_POS_TOL_M = 0.75  # m, a stop point may move this much
# Reasons that say an *input* was late (no odometry yet, tracked objects or the signal state stale):
# on a loaded machine they come and go with the scheduling of the replay, not with the scene, so
# the regression comparison leaves them out (a decision about the scene is never one of these).
STALE_REASONS = frozenset({"no_odometry", "objects_stale", "unknown_signal"})


# -- planner ----------------------------------------------------------------------------------------


def decisions(msgs: list[tuple[int, Any]], t0_ns: int) -> list[dict]:
    """[(sim ns, std_msgs/String)] -> decision dicts with 't' (s since the bag start) added."""
    out = []
    for ts, m in msgs:
        d = json.loads(m.data)
        d["t"] = (int(d.get("stamp_ns", ts)) - t0_ns) / NS
        out.append(d)
    return sorted(out, key=lambda d: d["t"])


def planner_events(decs: list[dict], settle_until_s: float = -math.inf, min_event_s: float = MIN_EVENT_S) -> list[dict]:
    """Collapsed (state, reason) runs lasting at least MIN_EVENT_S: [{'t', 'state', 'reason'}].
    Decisions before ``settle_until_s`` (a node started mid-drive is still collecting its inputs)
    and decisions on stale inputs (STALE_REASONS) are left out."""
    runs: list[dict] = []
    for d in decs:
        if d.get("reason") in STALE_REASONS or d["t"] < settle_until_s:
            continue
        key = (d.get("state"), d.get("reason"))
        if runs and (runs[-1]["state"], runs[-1]["reason"]) == key:
            runs[-1]["end"] = d["t"]
        else:
            runs.append({"t": d["t"], "end": d["t"], "state": key[0], "reason": key[1]})
    for i, r in enumerate(runs):
        r["dur"] = (runs[i + 1]["t"] if i + 1 < len(runs) else r["end"]) - r["t"]
    kept: list[dict] = []
    for r in runs:
        if r["dur"] < min_event_s and r is not runs[-1]:
            continue
        if kept and (kept[-1]["state"], kept[-1]["reason"]) == (r["state"], r["reason"]):
            continue  # the same decision again after a short flicker
        kept.append({"t": round(r["t"], 2), "state": r["state"], "reason": r["reason"]})
    return kept


def stop_points(decs: list[dict], reason: str) -> list[float]:
    """Route positions (m along the route) of the stops with ``reason`` the planner planned."""
    pts = []
    for d in decs:
        stop, route = d.get("stop") or {}, d.get("route") or {}
        if stop.get("reason") == reason and "distance_m" in stop and "s_m" in route:
            pts.append(float(route["s_m"]) + float(stop["distance_m"]))
    return pts


def planner_summary(decs: list[dict], settle_until_s: float = -math.inf) -> dict:
    decs = [d for d in decs if d["t"] >= settle_until_s]
    reasons = sorted({(d.get("stop") or {}).get("reason") for d in decs} - {None} - STALE_REASONS)
    stops = {r: round(float(np.median(stop_points(decs, r))), 2) for r in reasons if stop_points(decs, r)}
    return {"events": planner_events(decs), "stop_s_m": stops}


def event_line(e: dict) -> str:
    return f"{e['state']:<16} {e['reason']}"


def by_reason(events: list[dict]) -> list[dict]:
    """Consecutive events with the same reason merged (stopping -> stopped for one reason is one
    decision: whether the vehicle is already at rest when the next reason appears depends on
    the replay's timing), at the time of the first."""
    out: list[dict] = []
    for e in events:
        if not out or out[-1]["reason"] != e["reason"]:
            out.append({"t": e["t"], "state": "", "reason": e["reason"]})
    return out


def compare_events(got: list[dict], ref: list[dict], tol_s: float = EVENT_TIME_TOL_S, coarse: bool = True) -> list[str]:
    """Differences between two event sequences (empty when they match): a diff of the sequence
    (of reasons with ``coarse``, of (state, reason) otherwise), the (state, reason) pairs reached
    in one and not the other, or the events whose times moved by more than ``tol_s``."""
    out: list[str] = []
    if coarse:
        pairs_ref, pairs_got = {event_line(e) for e in ref}, {event_line(e) for e in got}
        out += [f"'{p}' no longer reached" for p in sorted(pairs_ref - pairs_got)]
        out += [f"'{p}' new" for p in sorted(pairs_got - pairs_ref)]
        got, ref = by_reason(got), by_reason(ref)
    a, b = [event_line(e).strip() for e in ref], [event_line(e).strip() for e in got]
    if a != b:
        diff = difflib.unified_diff(a, b, "reference", "replay", lineterm="", n=2)
        times = ["reference: " + ", ".join(f"{e['t']:.1f} s {event_line(e).strip()}" for e in ref),
                 "replay:    " + ", ".join(f"{e['t']:.1f} s {event_line(e).strip()}" for e in got)]
        return ["decision sequence changed:", *diff, *times, *out]
    return out + [f"'{event_line(r).strip()}' at {g['t']:.2f} s, reference {r['t']:.2f} s (tolerance {tol_s} s)"
                  for g, r in zip(got, ref, strict=True) if abs(g["t"] - r["t"]) > tol_s]


def compare_stops(got: dict[str, float], ref: dict[str, float], tol_m: float = STOP_POS_TOL_M) -> list[str]:
    out = []
    for reason in sorted(set(got) | set(ref)):
        if reason not in got or reason not in ref:
            out.append(f"stop for {reason}: " + ("no longer planned" if reason in ref else "new") +
                       f" (reference {ref.get(reason)}, replay {got.get(reason)} m along the route)")
        elif abs(got[reason] - ref[reason]) > tol_m:
            out.append(f"stop for {reason} at {got[reason]:.2f} m along the route, reference {ref[reason]:.2f} m "
                       f"(moved {got[reason] - ref[reason]:+.2f} m, tolerance {tol_m} m)")
    return out


# -- localizer --------------------------------------------------------------------------------------


def odometry_xy(msgs: list[tuple[int, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(header stamps ns (N,), positions (N, 2)) of Odometry messages, by stamp."""
    t = np.array([m.header.stamp.sec * NS + m.header.stamp.nanosec for _, m in msgs], np.int64)
    xy = np.array([[m.pose.pose.position.x, m.pose.pose.position.y] for _, m in msgs], np.float64).reshape(-1, 2)
    order = np.argsort(t, kind="stable")
    return t[order], xy[order]


def position_errors(est: tuple[np.ndarray, np.ndarray], truth: tuple[np.ndarray, np.ndarray],
                    max_gap_ns: int = 50_000_000) -> tuple[np.ndarray, np.ndarray]:
    """(stamps, |est - truth| in m) at the estimate's stamps, truth interpolated; estimates farther
    than ``max_gap_ns`` from a truth sample are left out."""
    te, xe = est
    tt, xt = truth
    i = np.clip(np.searchsorted(tt, te), 1, len(tt) - 1)
    near = np.minimum(np.abs(tt[i] - te), np.abs(tt[i - 1] - te)) <= max_gap_ns
    f = np.clip((te - tt[i - 1]) / np.maximum(tt[i] - tt[i - 1], 1), 0.0, 1.0)[:, None]
    xi = xt[i - 1] + f * (xt[i] - xt[i - 1])
    return te[near], np.hypot(*(xe[near] - xi[near]).T)


def localizer_summary(t: np.ndarray, err: np.ndarray, t0_ns: int, dropout: tuple[float, float] | None) -> dict:
    rel = (t - t0_ns) / NS
    out = {"n": len(err), "median_m": round(float(np.median(err)), 3), "p95_m": round(float(np.percentile(err, 95)), 3),
           "max_m": round(float(err.max()), 3)}
    if dropout is not None:
        inside = (rel >= dropout[0]) & (rel <= dropout[1])
        out["dropout_max_m"] = round(float(err[inside].max()), 3) if inside.any() else math.nan
        out["outside_p95_m"] = round(float(np.percentile(err[~inside], 95)), 3)
    return out


def compare_errors(got: dict, ref: dict, rel: float = 0.5, abs_m: float = 0.3) -> list[str]:
    """Error figures that grew more than ``rel`` (fraction) + ``abs_m`` over the reference."""
    return [f"localizer {k}: {got[k]:.3f} m, reference {ref[k]:.3f} m (allowed {ref[k] * (1 + rel) + abs_m:.3f} m)"
            for k in ("median_m", "p95_m", "dropout_max_m", "outside_p95_m")
            if k in ref and k in got and got[k] > ref[k] * (1 + rel) + abs_m]


# -- controller -------------------------------------------------------------------------------------


def controller_summary(states: list[tuple[int, Any]], commands: list[tuple[int, Any]], t0_ns: int) -> dict:
    """What the controller decided, in terms that survive scheduling jitter: whether it ever made
    an emergency stop, the state it ended in, the share of time in NORMAL once it got there, and
    the commanded acceleration (mean and minimum while enabled)."""
    names = [m.data.split(":")[0].split()[0] for _, m in states]
    first_normal = names.index("NORMAL") if "NORMAL" in names else len(names)
    after = names[first_normal:]
    acc = np.array([c.acceleration_mps2 for _, c in commands if c.enable])
    return {"emergency_stop": "EMERGENCY_STOP" in names, "reached_normal": bool(after),
            "final_state": names[-1] if names else None,
            "normal_fraction": round(after.count("NORMAL") / len(after), 3) if after else 0.0,
            "accel_mean": round(float(acc.mean()), 3) if len(acc) else 0.0,
            "accel_min": round(float(acc.min()), 3) if len(acc) else 0.0}


def compare_controller(got: dict, ref: dict) -> list[str]:
    out = [f"controller {k}: {got[k]}, reference {ref[k]}" for k in ("emergency_stop", "reached_normal", "final_state")
           if got[k] != ref[k]]
    # (the mean acceleration is reported, not compared: it follows the share of comfortable stops,
    # which a starved replay makes more of)
    for k, tol in (("normal_fraction", 0.25), ("accel_min", 0.75)):
        if abs(got[k] - ref[k]) > tol:
            out.append(f"controller {k}: {got[k]}, reference {ref[k]} (tolerance {tol})")
    return out


# -- references -------------------------------------------------------------------------------------


# -- v2x_client ---------------------------------------------------------------------------------

SIGNAL_STATES = {0: "unavailable", 1: "dark", 2: "flashing_red", 3: "red", 4: "flashing_green", 5: "green",
                 6: "green", 7: "yellow", 8: "flashing_yellow"}  # permissive and protected green alike
HINT_TYPES = {1: "pedestrian_crossing", 2: "blind_spot_object", 3: "emergency_vehicle", 4: "road_hazard",
              5: "speed_limit", 6: "red_light_warning"}


def signal_states(arr: Any) -> dict[tuple[int, int], str]:
    """TrafficSignalArray -> {(intersection, phase): state name} (one state per signal group)."""
    return {(s.intersection_id, s.phase_id): SIGNAL_STATES.get(s.state, str(s.state)) for s in arr.signals}


def v2x_summary(signals: list[tuple[int, Any]], hints: list[tuple[int, Any]], t0_ns: int,
                settle_until_s: float = -math.inf) -> dict:
    """The v2x_client's outputs as event sequences: one per signal group (its state changes) and one
    for the set of hint types it published (e.g. 'emergency_vehicle' appearing and going)."""
    groups: dict[str, list[dict]] = {}
    for ts, arr in signals:
        t = (ts - t0_ns) / NS
        for (iid, phase), state in signal_states(arr).items():
            groups.setdefault(f"{iid}/{phase}", []).append({"t": t, "state": f"{iid}/{phase}", "reason": state})
    hint_decs = [{"t": (ts - t0_ns) / NS, "state": "hints",
                  "reason": ",".join(sorted({HINT_TYPES.get(h.type, str(h.type)) for h in arr.hints})) or "-"}
                 for ts, arr in hints]
    return {"signals": {k: planner_events(v, settle_until_s, V2X_MIN_EVENT_S) for k, v in sorted(groups.items())},
            "hints": planner_events(hint_decs, settle_until_s, V2X_MIN_EVENT_S)}


def compare_v2x(got: dict, ref: dict, tol_s: float = 1.0) -> list[str]:
    """Differences in any signal group's state sequence or the hint sequence (times within ``tol_s``)."""
    out = []
    for group in sorted(set(got["signals"]) | set(ref["signals"])):
        if group not in got["signals"] or group not in ref["signals"]:
            out.append(f"signal group {group}: " + ("no longer published" if group in ref["signals"] else "new"))
            continue
        out += [f"signal {group}: {p}" for p in compare_events(got["signals"][group], ref["signals"][group], tol_s,
                                                                coarse=False)]
    return out + [f"hints: {p}" for p in compare_events(got["hints"], ref["hints"], tol_s, coarse=False)]


def load_ref(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"no reference {path}: run pytest tests/test_replay.py --update-refs once "
                                "(and commit it) after recording the bags")
    return json.loads(path.read_text())


def save_ref(path: Path, section: str, value: dict) -> None:
    """Write ``section`` of the reference file (the other sections stay as they are)."""
    ref = json.loads(path.read_text()) if path.is_file() else {}
    ref[section] = value
    path.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n")
