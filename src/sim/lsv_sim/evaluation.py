"""Evaluation of a run from ground truth (pure numpy; plots with matplotlib's Agg backend).

``evaluate(scenario, trace, shape)`` -> a JSON-ready summary: collisions (footprint overlap),
minimum distance to each actor (footprint to footprint), red-light and stop-line violations,
crosswalk yield violations, max/mean deceleration and jerk, ride comfort outside emergency stops
(``comfort``, from ``lsv_sim.comfort``), which goals were reached when, when each actor became
visible to the ego's lidar and when the stack first perceived it (``detection``, from
``lsv_sim.perceived``), and every pass criterion of the scenario with its value. Floats are
rounded so that two identical runs give byte-identical ``summary.json``. ``write_report`` writes
it with the plots (trajectory on the map, speed/acceleration/jerk over time with the emergency
stops, event timeline).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lsv_sim import comfort as ride
from lsv_sim import perceived as seen
from lsv_sim.comfort import STANDSTILL_MPS, ExcludedInterval
from lsv_sim.core import EgoShape, Trace
from lsv_sim.lights import LightState
from lsv_sim.perceived import PerceptionRecord
from lsv_sim.scenario import Fault, Scenario

STOP_ZONE_M = 3.0  # m; a stop at an unsignalled stop line must happen within this distance before it
GOAL_STOP_SPEED_MPS = 0.3  # m/s; a stop/park goal is reached at this speed or less within tolerance
CONTINUE_MIN_M = 5.0  # m; `continues_safely`: driven at least this far after the injection
# Text a fault's cause must show in a /diagnostics event after its injection (case-insensitive;
# None = any non-OK status or fault counter going up). A fault's `expect_diagnostic` overrides it.
DEFAULT_DIAGNOSTIC = {
    "gnss_dropout": "gnss", "gnss_freeze": "gnss", "gnss_jump": "gnss", "imu_dropout": "imu", "imu_freeze": "imu",
    "chassis_status_silent": "chassis status stale", "can_counter_corrupt": "bad_counter",
    "v2x_stale": "dropped.stale", "v2x_future": "dropped.future", "v2x_spoofed": "dropped.out_of_range",
    "v2x_malformed": "dropped.malformed",
    "camera_blinded": "camera blinded", "lidar_occluded": "lidar occluded",
    "sensor_clock_offset": "stamps ahead of clock",
}
# What the onboard planner and controller saw in the run: the stack's own perception (sensors,
# detectors, tracker) or the simulator's ground truth (`lsv sim --oracle`). The evaluation itself
# always uses ground truth.
PERCEPTION_STACK, PERCEPTION_ORACLE = "stack", "oracle"
PERCEPTION_MODES = {PERCEPTION_STACK: "the stack's own sensors, detectors and tracker",
                    PERCEPTION_ORACLE: "ground-truth objects and light states (--oracle), not the stack's perception"}
KILL_DIAGNOSTIC = {"controller": "braking command"}  # kill_node target -> text (default: the target's name)


def rectangles(x: np.ndarray, y: np.ndarray, yaw: np.ndarray, length: float, width: float) -> np.ndarray:
    """(T, 4, 2) corners of rectangles centred on (x, y) with heading ``yaw`` (each (T,))."""
    c, s = np.cos(yaw), np.sin(yaw)
    hl, hw = 0.5 * length, 0.5 * width
    local = np.array([[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]])
    cx = x[:, None] + local[None, :, 0] * c[:, None] - local[None, :, 1] * s[:, None]
    cy = y[:, None] + local[None, :, 0] * s[:, None] + local[None, :, 1] * c[:, None]
    return np.stack([cx, cy], axis=-1)


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) bool: rectangles a[t] and b[t] ((T, 4, 2) each) overlap (separating axis test)."""
    sep = np.zeros(len(a), dtype=bool)
    for poly in (a, b):
        for k in range(2):
            edge = poly[:, k + 1] - poly[:, k]
            axis = np.stack([-edge[:, 1], edge[:, 0]], axis=-1)
            pa = np.einsum("tij,tj->ti", a, axis)
            pb = np.einsum("tij,tj->ti", b, axis)
            sep |= (pa.max(1) < pb.min(1)) | (pb.max(1) < pa.min(1))
    return ~sep


def _point_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances from points p (T, P, 2) to segments a-b (T, S, 2): (T, P, S)."""
    ab = (b - a)[:, None, :, :]
    ap = p[:, :, None, :] - a[:, None, :, :]
    t = np.clip(np.sum(ap * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-12), 0.0, 1.0)
    d = ap - t[..., None] * ab
    return np.hypot(d[..., 0], d[..., 1])


def rect_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) distance between rectangles (0 where they overlap)."""
    a2, b2 = np.roll(a, -1, axis=1), np.roll(b, -1, axis=1)
    d = np.minimum(_point_segment(a, b, b2).min(axis=(1, 2)), _point_segment(b, a, a2).min(axis=(1, 2)))
    return np.where(overlap(a, b), 0.0, d)


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Point-in-polygon (even-odd) for points (..., 2) and a polygon (N, 2)."""
    x, y = points[..., 0], points[..., 1]
    res = np.zeros(points.shape[:-1], dtype=bool)
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        cond = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        res ^= cond & (x < xi)
    return res


def on_road(points: np.ndarray, carriageway: tuple[np.ndarray, ...]) -> np.ndarray:
    """Points (..., 2) inside any of the road outlines (all of them when there is none)."""
    if not carriageway:
        return np.ones(points.shape[:-1], dtype=bool)
    return np.logical_or.reduce([inside(points, road) for road in carriageway])


def _crossings(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices k where the move p[k-1] -> p[k] crosses segment a-b."""
    d = p[1:] - p[:-1]
    e = b - a
    denom = d[:, 0] * e[1] - d[:, 1] * e[0]
    w = a - p[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (w[:, 0] * e[1] - w[:, 1] * e[0]) / denom
        u = (w[:, 0] * d[:, 1] - w[:, 1] * d[:, 0]) / denom
    hit = (np.abs(denom) > 1e-12) & (t > 0.0) & (t <= 1.0) & (u >= 0.0) & (u <= 1.0)
    return np.nonzero(hit)[0] + 1


def _r(v: float | None, nd: int = 4) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), nd) + 0.0  # + 0.0: no "-0.0" in the JSON


def _rising(mask: np.ndarray) -> np.ndarray:
    """Indices where ``mask`` becomes true (episodes)."""
    m = mask.astype(np.int8)
    return np.nonzero(np.diff(np.concatenate([[0], m])) == 1)[0]


def expected_diagnostic(fault: Fault) -> str | None:
    """The text that shows a fault's cause on /diagnostics (None = any report)."""
    if fault.expect_diagnostic is not None:
        return fault.expect_diagnostic
    if fault.type == "kill_node":
        return KILL_DIAGNOSTIC.get(str(fault.target), str(fault.target))
    return DEFAULT_DIAGNOSTIC.get(fault.type)


def fault_metrics(faults: tuple[Fault, ...], t: np.ndarray, x: np.ndarray, y: np.ndarray, speed: np.ndarray,
                  diagnostics: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Per fault: injection time, speed then, time and distance to the first standstill after it,
    distance driven after it (to the end), and the first /diagnostics event that shows its cause
    (``diagnostics`` None = not observed: no verdict)."""
    out = []
    step = np.concatenate([[0.0], np.hypot(np.diff(x), np.diff(y))]) if len(x) else np.zeros(0)
    cum = np.cumsum(step)
    for f in faults:
        k = int(np.searchsorted(t, f.at_s - 1e-9))
        row: dict[str, Any] = {"type": f.type, "target": f.target, "at_s": _r(f.at_s, 3), "injected": k < len(t)}
        if k < len(t):
            still = np.nonzero(np.abs(speed[k:]) <= STANDSTILL_MPS)[0]
            row["speed_at_injection_mps"] = _r(speed[k], 3)
            row["time_to_standstill_s"] = _r(t[k + still[0]] - t[k], 3) if len(still) else None
            row["distance_to_standstill_m"] = _r(cum[k + still[0]] - cum[k], 3) if len(still) else None
            row["distance_after_injection_m"] = _r(cum[-1] - cum[k], 3)
        want = expected_diagnostic(f)
        row["expected_diagnostic"] = want
        if diagnostics is None:
            row["diagnostic"] = None
        else:
            hit = next((e for e in diagnostics if e["t_s"] >= f.at_s - 1e-6 and e["level"] != "OK"
                        and (want is None or want.lower() in e["text"].lower())), None)
            row["diagnostic"] = None if hit is None else {"t_s": hit["t_s"], "text": hit["text"],
                                                          "delay_s": _r(hit["t_s"] - f.at_s, 3)}
        out.append(row)
    return out


def evaluate(scenario: Scenario, trace: Trace, shape: EgoShape, completed: bool = True,
             diagnostics: list[dict[str, Any]] | None = None,
             excluded: Sequence[ExcludedInterval] = (), perception: str = PERCEPTION_STACK,
             perceived: PerceptionRecord | None = None) -> dict[str, Any]:
    """The run's metrics and pass/fail, JSON-ready (see the module docstring). ``completed`` =
    False marks a run stopped before the scenario's end (it then fails). ``diagnostics``: the
    events of ``core.DiagnosticsLog`` (None = /diagnostics was not observed). ``excluded``: the
    emergency stops (``lsv_sim.emergency``) left out of the comfort figures. ``perception``: what
    the planner and the controller saw (``PERCEPTION_MODES``), recorded in the summary.
    ``perceived``: the stack's perceived objects and the lidar visibility (None = not recorded)."""
    ego, actors, lights = trace.view()
    t, x, y, yaw, speed, accel = (ego[:, i] for i in range(6))
    ego_rect = rectangles(x, y, yaw, shape.length_m, shape.width_m)
    half = 0.5 * shape.length_m
    front = np.stack([x + half * np.cos(yaw), y + half * np.sin(yaw)], axis=-1)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.01

    collisions, min_dist, dist_to = [], {}, {}
    for j, a in enumerate(scenario.actors):
        rect = rectangles(actors[:, j, 0], actors[:, j, 1], actors[:, j, 2], a.length_m, a.width_m)
        d = dist_to[a.actor_id] = rect_distance(ego_rect, rect)
        k = int(np.argmin(d))
        min_dist[a.actor_id] = {"type": a.type.value, "distance_m": _r(d[k], 3), "t_s": _r(t[k], 2)}
        for i in _rising(d <= 0.0):
            collisions.append({"actor": a.actor_id, "type": a.type.value, "t_s": _r(t[i], 2),
                               "ego_speed_mps": _r(speed[i], 3), "actor_speed_mps": _r(actors[i, j, 3], 3)})

    red, yellow_crossings = [], []
    for j, lt in enumerate(scenario.lights):
        a, b = np.asarray(lt.stop_line[0]), np.asarray(lt.stop_line[1])
        for k in _crossings(front, a, b):
            if math.cos(yaw[k] - lt.heading_rad) <= 0.0:  # crossing against the light's direction: not facing it
                continue
            state = LightState(int(lights[k, j]))
            if state.stop_required:
                red.append({"light": lt.light_id, "t_s": _r(t[k], 2), "state": state.name.lower(),
                            "speed_mps": _r(speed[k], 3)})
            elif state == LightState.YELLOW:
                yellow_crossings.append({"light": lt.light_id, "t_s": _r(t[k], 2)})

    stop_viol = []
    for sl in scenario.stop_lines:
        a, b = np.asarray(sl.line[0]), np.asarray(sl.line[1])
        seg = b - a
        normal = np.array([math.cos(sl.heading_rad), math.sin(sl.heading_rad)])
        for k in _crossings(front, a, b):
            if math.cos(yaw[k] - sl.heading_rad) <= 0.0:
                continue
            # distance of the front bumper before the line (along the traffic direction), samples before k
            before = (a - front[:k]) @ normal
            lateral = np.abs(((front[:k] - a) @ seg) / max(float(seg @ seg), 1e-9) - 0.5) <= 0.5 + 1.0
            zone = (before >= 0.0) & (before <= STOP_ZONE_M) & lateral
            stopped = bool(np.any(np.abs(speed[:k][zone]) <= STANDSTILL_MPS))
            if not stopped:
                stop_viol.append({"stop_line": sl.stop_line_id, "t_s": _r(t[k], 2), "speed_mps": _r(speed[k], 3)})

    yield_viol = []
    vulnerable = [j for j, a in enumerate(scenario.actors) if a.is_vulnerable]
    probe = np.concatenate([ego_rect, front[:, None, :]], axis=1)  # corners + front middle
    for cw in scenario.crosswalks:
        ego_in = inside(probe, cw.polygon).any(axis=1) & (np.abs(speed) > STANDSTILL_MPS)
        if not vulnerable or not ego_in.any():
            continue
        occupied = np.zeros(len(t), dtype=bool)
        who = np.full(len(t), -1)
        for j in vulnerable:
            on = inside(actors[:, j, :2], cw.polygon) & on_road(actors[:, j, :2], cw.carriageway)
            who = np.where(on & ~occupied, j, who)
            occupied |= on
        for i in _rising(ego_in & occupied):
            yield_viol.append({"crosswalk": cw.crosswalk_id, "t_s": _r(t[i], 2),
                               "actor": scenario.actors[int(who[i])].actor_id, "speed_mps": _r(speed[i], 3)})

    jerk = ride.smoothed_rate(accel, dt)  # averaged over JERK_WINDOW_S, as the comfort figures
    jerk = jerk if len(jerk) else np.zeros(1)
    decel = -accel[accel < -0.05]
    moving = np.abs(jerk) > 1e-6

    goals, prev_k = [], 0
    for g in scenario.goals:
        d = np.hypot(x[prev_k:] - g.pose.x_m, y[prev_k:] - g.pose.y_m)
        ok = d <= g.tolerance_m
        if g.kind in ("stop", "park"):
            ok &= np.abs(speed[prev_k:]) <= GOAL_STOP_SPEED_MPS
        hits = np.nonzero(ok)[0]
        if len(hits) == 0:
            goals.append({"id": g.goal_id, "kind": g.kind, "reached": False, "t_s": None,
                          "closest_m": _r(float(d.min()) if len(d) else math.inf, 2)})
            prev_k = len(t)  # later goals count only after this one
            continue
        prev_k += int(hits[0])
        goals.append({"id": g.goal_id, "kind": g.kind, "reached": True, "t_s": _r(t[prev_k], 2),
                      "closest_m": _r(float(d.min()), 2)})
    all_reached = bool(goals) and all(g["reached"] for g in goals)

    dist = float(np.sum(np.hypot(np.diff(x), np.diff(y)))) if len(x) > 1 else 0.0
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "perception": perception,
        "completed": bool(completed),
        "duration_s": _r(float(t[-1]) if len(t) else 0.0, 3),
        "seed": scenario.seed,
        "steps": int(len(t) - 1),
        "collisions": collisions,
        "min_distance_m": min_dist,
        "red_light_violations": red,
        "yellow_light_crossings": yellow_crossings,
        "stop_line_violations": stop_viol,
        "crosswalk_yield_violations": yield_viol,
        "deceleration_mps2": {"max": _r(float(decel.max()) if len(decel) else 0.0, 3),
                              "mean": _r(float(decel.mean()) if len(decel) else 0.0, 3)},
        "jerk_mps3": {"max": _r(float(np.abs(jerk).max()) if len(jerk) else 0.0, 3),
                      "mean": _r(float(np.abs(jerk[moving]).mean()) if moving.any() else 0.0, 3)},
        "comfort": ride.comfort(t, speed, accel, yaw, excluded),
        "goals": goals,
        "goal_reached": all_reached,
        "time_to_goal_s": goals[-1]["t_s"] if all_reached else None,
        "distance_m": _r(dist, 2),
        "rollback_m": _r(float(np.sum(np.maximum(-speed[:-1], 0.0) * np.diff(t))) if len(t) > 1 else 0.0, 3),
        "max_speed_mps": _r(float(np.abs(speed).max()) if len(speed) else 0.0, 3),
        "events": [{"t_s": _r(te, 2), "event": text} for te, text in trace.events],
        "faults": fault_metrics(scenario.faults, t, x, y, speed, diagnostics),
        "detection": seen.summary(scenario, t, actors, speed, dist_to, perceived, perception == PERCEPTION_ORACLE),
    }
    summary["checks"] = _checks(scenario, summary)
    if not completed:
        summary["checks"].insert(0, {"name": "completed", "passed": False, "value": summary["duration_s"],
                                     "limit": _r(scenario.duration_s, 3)})
    summary["passed"] = all(c["passed"] for c in summary["checks"])
    return summary


def _checks(scenario: Scenario, s: dict[str, Any]) -> list[dict[str, Any]]:
    pc = scenario.pass_criteria
    checks: list[dict[str, Any]] = []

    def add(name: str, passed: bool, value: Any, limit: Any) -> None:
        checks.append({"name": name, "passed": bool(passed), "value": value, "limit": limit})

    if pc.no_collision:
        add("no_collision", not s["collisions"], len(s["collisions"]), 0)
    if pc.goal_reached:
        add("goal_reached", s["goal_reached"], s["goal_reached"], True)
    if pc.max_time_s is not None:
        tg = s["time_to_goal_s"]
        add("max_time_s", tg is not None and tg <= pc.max_time_s, tg, pc.max_time_s)
    for aid, md in s["min_distance_m"].items():
        limit = pc.min_distance_per_actor_m.get(aid, pc.min_distance_m)
        if limit is not None:
            add(f"min_distance_m.{aid}", md["distance_m"] >= limit, md["distance_m"], limit)
    if pc.no_red_light_violation:
        add("no_red_light_violation", not s["red_light_violations"], len(s["red_light_violations"]), 0)
    if pc.no_stop_line_violation:
        add("no_stop_line_violation", not s["stop_line_violations"], len(s["stop_line_violations"]), 0)
    if pc.no_crosswalk_yield_violation:
        add("no_crosswalk_yield_violation", not s["crosswalk_yield_violations"],
            len(s["crosswalk_yield_violations"]), 0)
    if pc.max_decel_mps2 is not None:
        v = s["deceleration_mps2"]["max"]
        add("max_decel_mps2", v <= pc.max_decel_mps2, v, pc.max_decel_mps2)
    if pc.max_jerk_mps3 is not None:
        v = s["jerk_mps3"]["max"]
        add("max_jerk_mps3", v <= pc.max_jerk_mps3, v, pc.max_jerk_mps3)
    if pc.max_comfort_jerk_mps3 is not None:  # outside emergency stops
        v = s["comfort"]["longitudinal_jerk_mps3"]["max"]
        add("max_comfort_jerk_mps3", v <= pc.max_comfort_jerk_mps3, v, pc.max_comfort_jerk_mps3)
    if pc.max_rollback_m is not None:
        add("max_rollback_m", s["rollback_m"] <= pc.max_rollback_m, s["rollback_m"], pc.max_rollback_m)
    for f in s["faults"]:
        name = f["type"] + (f".{f['target']}" if f["target"] else "")
        if not f["injected"]:
            add(f"fault_injected.{name}", False, False, True)
            continue
        if pc.stops_within_s is not None:
            v = f["time_to_standstill_s"]
            add(f"stops_within_s.{name}", v is not None and v <= pc.stops_within_s, v, pc.stops_within_s)
        if pc.max_distance_after_fault_m is not None:
            v = f["distance_to_standstill_m"]
            add(f"max_distance_after_fault_m.{name}", v is not None and v <= pc.max_distance_after_fault_m, v,
                pc.max_distance_after_fault_m)
        if pc.continues_safely:
            v = f["distance_after_injection_m"]
            add(f"continues_safely.{name}", v >= CONTINUE_MIN_M, v, CONTINUE_MIN_M)
        if pc.diagnostic_reported:
            d = f["diagnostic"]
            add(f"diagnostic_reported.{name}", d is not None, None if d is None else d["text"],
                f["expected_diagnostic"] or "any report")
    checks += seen.checks(scenario, s["detection"])
    return checks


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=False) + "\n"


def summary_table(summary: dict[str, Any]) -> str:
    """A plain-text table of the checks and headline numbers (for the console)."""
    rows = [("scenario", summary["scenario"], ""),
            ("result", "PASS" if summary["passed"] else "FAIL", "" if summary["completed"] else "(stopped early)"),
            ("perception", summary["perception"], PERCEPTION_MODES.get(summary["perception"], "")),
            ("simulated time", f"{summary['duration_s']:.1f} s", ""),
            ("distance driven", f"{summary['distance_m']:.1f} m", ""),
            ("goal reached", str(summary["goal_reached"]),
             "" if summary["time_to_goal_s"] is None else f"at {summary['time_to_goal_s']:.1f} s"),
            ("collisions", str(len(summary["collisions"])), ""),
            ("red-light violations", str(len(summary["red_light_violations"])), ""),
            ("stop-line violations", str(len(summary["stop_line_violations"])), ""),
            ("crosswalk yield violations", str(len(summary["crosswalk_yield_violations"])), ""),
            ("max deceleration", f"{summary['deceleration_mps2']['max']:.2f} m/s^2", ""),
            ("max jerk", f"{summary['jerk_mps3']['max']:.2f} m/s^3", "all of the run"),
            *ride.table_rows(summary["comfort"])]
    for aid, md in summary["min_distance_m"].items():
        rows.append((f"min distance {aid}", f"{md['distance_m']:.2f} m", f"at {md['t_s']:.1f} s"))
    rows += seen.table_rows(summary.get("detection"))
    for f in summary.get("faults", []):
        tts, dist = f.get("time_to_standstill_s"), f.get("distance_to_standstill_m")
        rows.append((f"fault {f['type']}" + (f" {f['target']}" if f["target"] else ""), f"at {f['at_s']:.1f} s",
                     "standstill " + ("never" if tts is None else f"after {tts:.1f} s, {dist:.1f} m")
                     + ("" if f.get("diagnostic") is None else f"; /diagnostics: {f['diagnostic']['text']}")))
    for c in summary["checks"]:
        rows.append((f"check {c['name']}", "pass" if c["passed"] else "FAIL", f"{c['value']} (limit {c['limit']})"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows)


# ---------------------------------------------------------------------------------- plots

def _map_lines(scenario: Scenario, world: Any | None) -> list[np.ndarray]:
    lines = []
    lmap = getattr(world, "lanelet_map", None)
    if lmap is not None:
        for ll in lmap.laneletLayer:
            for bound in (ll.leftBound, ll.rightBound):
                lines.append(np.array([[p.x, p.y] for p in bound]))
        return lines
    for road in scenario.map.roads:
        c = road.centerline
        d = np.diff(c, axis=0)
        n = np.stack([-d[:, 1], d[:, 0]], axis=-1) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
        n = np.vstack([n, n[-1:]])
        for side in (-0.5, 0.5):
            lines.append(c + side * road.width_m * n)
    return lines


def write_plots(folder: Path, scenario: Scenario, trace: Trace, summary: dict[str, Any],
                world: Any | None = None) -> list[Path]:
    """trajectory.png, speed_accel.png and events.png in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ego, actors, lights = trace.view()
    t = ego[:, 0]
    out = []

    fig, ax = plt.subplots(figsize=(9, 7), dpi=100)
    for line in _map_lines(scenario, world):
        ax.plot(line[:, 0], line[:, 1], color="0.7", lw=0.8)
    for cw in scenario.crosswalks:
        p = np.vstack([cw.polygon, cw.polygon[:1]])
        ax.fill(p[:, 0], p[:, 1], color="0.85", hatch="//", ec="0.5", lw=0.5)
    for lt in scenario.lights:
        (x1, y1), (x2, y2) = lt.stop_line
        ax.plot([x1, x2], [y1, y2], color="red", lw=2.5)
        ax.annotate(lt.light_id, (x1, y1), fontsize=7, color="red")
    for sl in scenario.stop_lines:
        (x1, y1), (x2, y2) = sl.line
        ax.plot([x1, x2], [y1, y2], color="black", lw=2.5)
    for j, a in enumerate(scenario.actors):
        ax.plot(actors[:, j, 0], actors[:, j, 1], lw=1.0, ls="--", label=f"{a.actor_id} ({a.type.value})")
        ax.plot(actors[-1:, j, 0], actors[-1:, j, 1], "o", ms=4, color=ax.lines[-1].get_color())
    vmax = max(1.0, float(np.abs(ego[:, 4]).max()) if len(ego) else 1.0)
    sc = ax.scatter(ego[:, 1], ego[:, 2], c=np.abs(ego[:, 4]), s=3, cmap="viridis", vmin=0.0, vmax=vmax, label="ego")
    fig.colorbar(sc, ax=ax, label="ego speed [m/s]")
    for g in scenario.goals:
        ax.plot(g.pose.x_m, g.pose.y_m, "*", ms=14, color="gold", mec="k")
        ax.annotate(g.goal_id, (g.pose.x_m, g.pose.y_m), fontsize=8)
    for c in summary["collisions"]:
        k = int(np.searchsorted(t, c["t_s"]))
        k = min(k, len(t) - 1)
        ax.plot(ego[k, 1], ego[k, 2], "x", ms=12, color="red", mew=2)
    # frame what happened: the ego's path, the goals and the actors' paths, with a margin
    pts = [ego[:, 1:3], *(actors[:, j, :2] for j in range(actors.shape[1]))]
    pts += [np.array([[g.pose.x_m, g.pose.y_m]]) for g in scenario.goals]
    allp = np.vstack(pts)
    lo, hi = allp.min(axis=0) - 25.0, allp.max(axis=0) + 25.0
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(f"{scenario.name}: {'PASS' if summary['passed'] else 'FAIL'}")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    out.append(folder / "trajectory.png")
    fig.savefig(out[-1])
    plt.close(fig)

    out.append(folder / "speed_accel.png")
    ride.plot_speed_accel(out[-1], t, ego[:, 4], ego[:, 5], ego[:, 3], ride.intervals_of(summary))

    fig, ax = plt.subplots(figsize=(9, 3 + 0.3 * len(scenario.lights)), dpi=100)
    colours = {LightState.RED: "red", LightState.YELLOW: "orange", LightState.GREEN: "green",
               LightState.DARK: "black", LightState.PERMISSIVE_GREEN: "limegreen"}
    for j in range(len(scenario.lights)):
        states = lights[:, j]
        change = np.concatenate([[0], np.nonzero(np.diff(states))[0] + 1, [len(states) - 1]])
        for a, b in itertools.pairwise(change):
            ax.barh(j, t[b] - t[a], left=t[a], color=colours.get(LightState(int(states[a])), "grey"), height=0.6)
    ax.set_yticks(range(len(scenario.lights)), [f"light {lt.light_id}" for lt in scenario.lights])
    marks = summary["events"] + [{"t_s": c["t_s"], "event": f"COLLISION {c['actor']}"} for c in summary["collisions"]]
    marks += [{"t_s": v["t_s"], "event": f"red light {v['light']}"} for v in summary["red_light_violations"]]
    marks += [{"t_s": v["t_s"], "event": f"no yield {v['crosswalk']}"} for v in summary["crosswalk_yield_violations"]]
    for i, e in enumerate(sorted(marks, key=lambda e: e["t_s"])):
        ax.axvline(e["t_s"], color="0.4", lw=0.6)
        ax.annotate(e["event"], (e["t_s"], len(scenario.lights) - 0.4 + 0.35 * (i % 4)), fontsize=6, rotation=0)
    ax.set_xlim(0.0, max(float(t[-1]) if len(t) else 1.0, 1.0))
    ax.set_ylim(-0.8, len(scenario.lights) + 1.2)
    ax.set_xlabel("time [s]")
    ax.set_title("lights and events")
    fig.tight_layout()
    out.append(folder / "events.png")
    fig.savefig(out[-1])
    plt.close(fig)
    return out


def write_report(folder: str | Path, scenario: Scenario, trace: Trace, shape: EgoShape,
                 world: Any | None = None, plots: bool = True, completed: bool = True,
                 diagnostics: list[dict[str, Any]] | None = None,
                 excluded: Sequence[ExcludedInterval] = (), perception: str = PERCEPTION_STACK,
                 perceived: PerceptionRecord | None = None) -> dict[str, Any]:
    """Evaluate, write ``summary.json`` (first: it is what counts) and the PNG plots into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = evaluate(scenario, trace, shape, completed, diagnostics, excluded, perception, perceived)
    (folder / "summary.json").write_text(summary_json(summary))
    if diagnostics is not None:  # arrival times depend on the machine: not in summary.json (byte-identical runs)
        (folder / "diagnostics.json").write_text(json.dumps(diagnostics, indent=1) + "\n")
    if perceived is not None:  # the same: the record the detection figures come from
        (folder / "perception.json").write_text(
            json.dumps(perceived.to_json([a.actor_id for a in scenario.actors])) + "\n")
    if plots:
        write_plots(folder, scenario, trace, summary, world)
    return summary
