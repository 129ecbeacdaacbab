"""The planner core (pure: no rclpy): mission -> route -> behaviours -> velocity profile -> trajectory.

``Planner(params, road_map, goals).plan(now_ns, inputs) -> (TrajectoryPoints, Decision)``.

One cycle:

1. no fresh odometry -> empty trajectory (= stop and hold, lsv_msgs/Trajectory) and NO_ODOMETRY;
2. mission: IDLE -> empty trajectory, DONE / DWELLING -> zero-speed hold points; otherwise route
   (lanelet2 routing) from the vehicle through the goals ahead, built again when the goal changes,
   the vehicle is off the path or it overshot a stop goal; an unreachable goal -> empty
   trajectory and NO_ROUTE with the reason;
3. the path window ahead (``horizon_m``): speed caps (vehicle, map, V2X zones, curves), stop
   points from traffic lights, crosswalks, obstacles / lead objects, emergency vehicles, the goal
   and the end of the route; the nearest stop wins (V2X can add stops, never remove one);
4. velocity profile with acceleration and jerk limits ending exactly at that stop (standing at it:
   zero-speed hold points along the path);
5. decision state and its reason.

Stale inputs: odometry -> hold (1); traffic signals older than ``signals_timeout_s`` (V2X) or
``perceived_signals_timeout_s`` (camera) are ignored, so a signalised stop line with neither is
"unknown" -> stop; V2X hints older than
``hints_timeout_s`` or past their ``valid_until`` are ignored; objects older than
``objects_timeout_s`` (or never received) -> speed capped at ``stale_objects_speed_mps``
(default 0: a comfortable stop, then hold) because an obstacle could be there unseen.
V2X red-light warnings add a red for their intersection and phase (advice only adds caution).
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lsv_planning import decision as dec
from lsv_planning.behaviours import crosswalk, emergency, obstacle, speed_limit, traffic_light
from lsv_planning.behaviours.common import PathWindow, StopPoint, points_in_polygon
from lsv_planning.behaviours.crosswalk import CrosswalkAhead, Walker
from lsv_planning.behaviours.traffic_light import LightDecision, LineAhead
from lsv_planning.inputs import (
    HINT_PEDESTRIAN_CROSSING,
    HINT_RED_LIGHT_WARNING,
    NS,
    STATE_RED,
    VULNERABLE_CLASSES,
    Hint,
    PlannerInputs,
    Signal,
    TrackedObj,
    fresh,
)
from lsv_planning.lanelet_map import RoadMap
from lsv_planning.mission import Goal, GoalKind, MissionPhase, MissionState, add_goal, with_goals
from lsv_planning.mission import transition as mission_transition
from lsv_planning.params import HARD_SPEED_CAP_MPS, PlannerParams
from lsv_planning.route import ReferencePath, RouteError, Waypoint, reference_path, route_through
from lsv_planning.velocity import ENVELOPE_FRACTION, Limits, profile

log = logging.getLogger(__name__)

ENGAGE_MIN_DISTANCE_M = 0.5  # m; closer to a stop point than this, a vehicle at rest stays at rest


@dataclass(frozen=True)
class TrajectoryPoints:
    """The planned motion; all arrays (M,), M = 0 means stop and hold."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    yaw: np.ndarray
    v: np.ndarray  # m/s
    a: np.ndarray  # m/s^2
    t: np.ndarray  # s from the plan time
    curvature: np.ndarray  # 1/m
    grade: np.ndarray  # rise over run

    def __len__(self) -> int:
        return len(self.x)

    @staticmethod
    def empty() -> TrajectoryPoints:
        z = np.zeros(0)
        return TrajectoryPoints(z, z, z, z, z, z, z, z, z)


@dataclass(frozen=True)
class Decision:
    stamp_ns: int
    state: dec.DecisionState
    reason: str
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"stamp_ns": self.stamp_ns, "state": self.state.value, "reason": self.reason, "detail": self.detail,
                **self.info}


class Planner:
    """Holds the map, the mission and the small states between cycles; ``plan`` does one cycle."""

    def __init__(self, params: PlannerParams, road_map: RoadMap, goals: list[Goal] | tuple[Goal, ...] = ()):
        self.p = params
        self.map = road_map
        self.mission: MissionState = with_goals(goals)
        self.state = dec.DecisionState.NO_ODOMETRY
        self.path: ReferencePath | None = None
        self.path_version = -1
        self.route_error: str | None = None
        self.ego_s: float | None = None
        self.lines: list[LineAhead] = []
        self.crosswalks: list[CrosswalkAhead] = []
        self.lights: dict[int, LightDecision] = {}
        self.emergency = emergency.EmergencyState()
        self._last: tuple[int, np.ndarray, np.ndarray] | None = None  # plan time, t, a of the last profile
        self.limits = Limits(params.accel_mps2, params.comfort_decel_mps2, params.max_decel_mps2, params.jerk_mps3)

    # ------------------------------------------------------------------ mission input
    def add_goal(self, goal: Goal, append: bool) -> None:
        self.mission = add_goal(self.mission, goal, append)

    def set_goals(self, goals: list[Goal]) -> None:
        self.mission = with_goals(goals)
        self.path_version = -1

    # ------------------------------------------------------------------ route
    def _build_route(self, ego_x: float, ego_y: float, ego_yaw: float) -> None:
        goals = self.mission.goals_ahead()
        self.path, self.route_error, self.ego_s = None, None, None
        self.path_version = self.mission.version
        self.lines, self.crosswalks = [], []
        # light decisions stay (stop-line ids are the map's); a yield's stop point is an arc length on the old
        # path, so a yield starts again on the new one if the emergency vehicle is still there
        self.emergency = emergency.EmergencyState()
        wps = [Waypoint(g.x, g.y, g.yaw, g.lanelet_id, g.goal_id) for g in goals]
        try:
            seq, gidx = route_through(self.map, Waypoint(ego_x, ego_y, ego_yaw, 0, "vehicle"), wps)
            path = reference_path(self.map, seq, wps, gidx, self.p.path_resolution_m, self.p.smoothing_m)
        except RouteError as err:
            self.route_error = str(err)
            log.error("route: %s", err)
            return
        self.path = path
        self.lines = self._lines_on(path)
        self.crosswalks = self._crosswalks_on(path)
        log.info("route: %d lanelets, %.0f m, %d signalised stop lines, %d crosswalks", len(seq), path.length,
                 len(self.lines), len(self.crosswalks))

    def _lines_on(self, path: ReferencePath) -> list[LineAhead]:
        out = []
        lane = path.lanelet
        change = np.nonzero(np.diff(lane) != 0)[0] + 1
        edges = np.concatenate([[0], change, [len(lane)]])
        for a, b in itertools.pairwise(edges):
            for line in self.map.stop_lines_of_lanelet.get(int(lane[a]), []):
                mid = line.points.mean(axis=0)
                lo, hi = max(0, a - 2), min(len(lane), b + 2)
                s, _ = ReferencePath.project(path, float(mid[0]), float(mid[1]), path.s[lo], path.s[hi - 1])
                out.append(LineAhead(line, s))
        return sorted(out, key=lambda la: la.s)

    def _crosswalks_on(self, path: ReferencePath) -> list[CrosswalkAhead]:
        route = set(path.lanelets)
        out = []
        for cw in self.map.crosswalks:
            if not route.intersection(cw.lanelet_ids):
                continue
            inside = points_in_polygon(path.xy, cw.polygon)
            idx = np.nonzero(inside)[0]
            if len(idx) == 0:
                continue
            runs = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
            for r in runs:
                i = int(r[len(r) // 2])
                out.append(CrosswalkAhead(cw, float(path.s[r[0]]), float(path.s[r[-1]]), path.xy[i].copy(),
                                          float(path.yaw[i])))
        return sorted(out, key=lambda c: c.s_in)

    # ------------------------------------------------------------------ one cycle
    def plan(self, now_ns: int, inputs: PlannerInputs) -> tuple[TrajectoryPoints, Decision]:
        p = self.p
        ego = inputs.ego
        odom_ok = ego is not None and abs(now_ns - ego.stamp_ns) <= p.odometry_timeout_s * NS
        if not odom_ok:
            detail = "no odometry received" if ego is None else \
                f"odometry {(now_ns - ego.stamp_ns) / NS:.2f} s old (timeout {p.odometry_timeout_s} s)"
            return self._hold(now_ns, "no_odometry", detail, odom_ok=False)
        assert ego is not None
        self.mission = mission_transition(self.mission, now_ns, False)  # IDLE -> DRIVING when goals arrived
        if self.mission.phase in (MissionPhase.IDLE, MissionPhase.DONE):
            why = "no mission goals" if self.mission.phase == MissionPhase.IDLE else "all goals done"
            return self._hold(now_ns, self.mission.phase.value, why, speed=ego.speed, hold_path=True)

        for _attempt in range(2):  # at most one re-route per cycle (goal change / off the path)
            if self.path is None or self.path_version != self.mission.version:
                self._build_route(ego.x, ego.y, ego.yaw)
            if self.path is None:
                return self._hold(now_ns, "no_route", self.route_error or "no route", speed=ego.speed)
            path = self.path
            if self.ego_s is None:  # new path: the vehicle is on its first lanelet
                first = np.nonzero(path.lanelet != path.lanelet[0])[0]
                lo, hi = -math.inf, (path.s[first[0]] + 5.0) if len(first) else math.inf
            else:
                lo, hi = self.ego_s - 5.0, self.ego_s + 30.0
            ego_s, lat = path.project(ego.x, ego.y, lo, hi)
            if abs(lat) > p.replan_deviation_m:
                log.warning("%.1f m off the reference path: routing again", lat)
                self.path_version = -1
                continue
            self.ego_s = ego_s
            if self._goal_passed(ego_s):
                log.warning("passed stop goal '%s' without stopping there: routing round to it again",
                            self.mission.current.goal_id if self.mission.current else "?")
                self.path_version = -1
                continue
            reached = self._goal_reached(ego, ego_s)
            before = self.mission.version
            self.mission = mission_transition(self.mission, now_ns, reached)
            if self.mission.version != before:
                log.info("mission: %s (goal %d of %d)", self.mission.phase.value, self.mission.index + 1,
                         len(self.mission.goals))
                if self.mission.phase == MissionPhase.DONE:
                    return self._hold(now_ns, "done", "all goals done", speed=ego.speed, hold_path=True)
                continue
            break
        else:
            return self._hold(now_ns, "no_route", self.route_error or "the vehicle is off the route after routing "
                              "again", speed=ego.speed)
        assert self.path is not None and self.ego_s is not None
        if self.mission.phase == MissionPhase.DWELLING:
            left = (self.mission.dwell_until_ns - now_ns) / NS
            g = self.mission.current
            return self._hold(now_ns, "dwell", f"at '{g.goal_id if g else '?'}', {left:.1f} s left",
                              speed=ego.speed, hold_path=True)
        return self._drive(now_ns, inputs, ego)

    def _goal_passed(self, ego_s: float) -> bool:
        """A stop/park goal left more than its tolerance behind (overshot): it needs a new route."""
        g = self.mission.current
        if g is None or g.kind == GoalKind.PATROL or self.path is None or not self.path.goal_s:
            return False
        tol = g.tolerance_m if g.tolerance_m is not None else self.p.goal_tolerance_m
        return ego_s > self.path.goal_s[0] + tol

    def _goal_reached(self, ego, ego_s: float) -> bool:
        g = self.mission.current
        if g is None or self.path is None or not self.path.goal_s:
            return False
        tol = g.tolerance_m if g.tolerance_m is not None else self.p.goal_tolerance_m
        if g.kind == GoalKind.PATROL:
            return ego_s >= self.path.goal_s[0] - tol
        return math.hypot(ego.x - g.x, ego.y - g.y) <= tol and abs(ego.speed) <= self.p.stopped_speed_mps

    # ------------------------------------------------------------------ behaviours + profile
    def _window(self, ego_s: float) -> PathWindow:
        path = self.path
        assert path is not None
        end = min(ego_s + self.p.horizon_m, path.length)
        n = max(2, math.ceil((end - ego_s) / self.p.path_resolution_m) + 1)
        s = np.linspace(ego_s, max(end, ego_s + 1e-3), n)
        xy, yaw = path.at(s)
        idx = np.clip(np.searchsorted(path.s, s), 0, len(path.s) - 1)
        return PathWindow(s, xy, yaw, np.interp(s, path.s, path.curvature), path.speed_limit[idx],
                          path.lane_width[idx])

    def _drive(self, now_ns: int, inputs: PlannerInputs, ego) -> tuple[TrajectoryPoints, Decision]:
        p = self.p
        path = self.path
        ego_s = self.ego_s
        assert path is not None and ego_s is not None
        win = self._window(ego_s)
        signals_ok = fresh(inputs.signals, now_ns, p.signals_timeout_s)
        seen_ok = fresh(inputs.perceived_signals, now_ns, p.perceived_signals_timeout_s)
        hints_ok = fresh(inputs.hints, now_ns, p.hints_timeout_s)
        objects_ok = fresh(inputs.objects, now_ns, p.objects_timeout_s)
        hints: list[Hint] = [h for h in (inputs.hints.items if hints_ok and inputs.hints else ())
                             if h.valid_until_ns >= now_ns]
        objects: list[TrackedObj] = list(inputs.objects.items) if objects_ok and inputs.objects else []
        signals = list(inputs.signals.items) if signals_ok and inputs.signals else None
        perceived = list(inputs.perceived_signals.items) if seen_ok and inputs.perceived_signals else None
        # a V2X red-light warning (the ego would reach that stop line on red) adds a red for its phase:
        # advice can only make the vehicle more careful
        warnings = [Signal(h.intersection_id, h.hint_id, STATE_RED) for h in hints
                    if h.type == HINT_RED_LIGHT_WARNING and h.intersection_id]
        if warnings and signals is not None:
            signals += warnings

        caps, which = speed_limit.speed_caps(win, hints, now_ns, max_speed=p.max_speed_mps,
                                             max_lat_accel=p.max_lateral_accel_mps2,
                                             min_curve_speed=p.min_curve_speed_mps, hazard_speed=p.hazard_speed_mps)
        stops: list[StopPoint] = []
        # the speed towards the next stop lines, for arrival times: the highest limit over the next 20 m (earliest)
        cruise = float(min(p.max_speed_mps, HARD_SPEED_CAP_MPS,
                           np.max(caps[: max(1, int(20.0 / p.path_resolution_m))])))
        front = p.ego_front_overhang_m
        # traffic lights
        lines = [la for la in self.lines if ego_s - 5.0 <= la.s <= ego_s + p.light_lookahead_m]
        light_stops, self.lights, light_report = traffic_light.evaluate(
            lines, self.lights, signals, now_ns, ego_s, ego.speed, cruise, front_m=front,
            margin_m=p.stop_line_margin_m, accel=p.accel_mps2, comfort_decel=p.comfort_decel_mps2,
            max_decel=p.max_decel_mps2, time_margin_s=p.light_time_margin_s, perceived=perceived)
        stops += light_stops
        # crosswalks
        walkers = [Walker(o.x, o.y, o.vx, o.vy, f"track {o.object_id}") for o in objects
                   if o.classification in VULNERABLE_CLASSES and o.score >= p.min_object_score]
        walkers += [Walker(h.x, h.y, h.vx, h.vy, f"v2x {h.source_id}:{h.hint_id}") for h in hints
                    if h.type == HINT_PEDESTRIAN_CROSSING]
        cw_stops, cw_report = crosswalk.evaluate(
            self.crosswalks, walkers, ego_s, front_m=front, stop_margin_m=p.crosswalk_stop_margin_m,
            margin_m=p.crosswalk_margin_m, horizon_s=p.crosswalk_horizon_s,
            lookahead_m=p.crosswalk_lookahead_m)
        stops += cw_stops
        # obstacles (V2X pedestrians on the path count as objects too: advice only adds stops)
        obstacles = objects + [TrackedObj(-1 - i, 6, h.x, h.y, 0.0, h.vx, h.vy, 0.6, 0.6, 1.0)
                               for i, h in enumerate(hints) if h.type == HINT_PEDESTRIAN_CROSSING]
        ob_stops, ob_report = obstacle.evaluate(
            win, obstacles, ego_s, front_m=front, ego_width_m=p.ego_width_m,
            lateral_margin_m=p.obstacle_lateral_margin_m, stop_margin_m=p.obstacle_stop_margin_m,
            time_gap_s=p.follow_time_gap_s, follow_min_speed=p.follow_min_speed_mps,
            prediction_s=p.object_prediction_s, comfort_decel=ENVELOPE_FRACTION * p.comfort_decel_mps2,
            min_score=p.min_object_score, min_clearance_m=p.obstacle_min_clearance_m)
        stops += ob_stops
        # standing vehicles a little into the corridor: passed slowly rather than waited behind for good
        pass_caps, pass_report = obstacle.passing_caps(
            win, obstacles, ego_s, front_m=front, rear_m=max(p.ego_length_m - front, 0.0), ego_width_m=p.ego_width_m,
            lateral_margin_m=p.obstacle_lateral_margin_m, min_clearance_m=p.obstacle_min_clearance_m,
            pass_speed=p.obstacle_pass_speed_mps, follow_min_speed=p.follow_min_speed_mps,
            prediction_s=p.object_prediction_s, min_score=p.min_object_score)
        tighter = pass_caps < caps
        caps, which = np.where(tighter, pass_caps, caps), np.where(tighter, speed_limit.PASSING, which)
        ob_report += pass_report
        # emergency vehicles
        evs = emergency.collect(hints, objects, now_ns)
        n_rel = sum(emergency.relevant(e, ego, p.emergency_range_m, 15.0, p.ego_length_m) for e in evs)
        stop_dist = max(p.pull_over_distance_m, ego.speed ** 2 / (2.0 * p.comfort_decel_mps2) + 1.0)
        self.emergency = emergency.transition(self.emergency, n_rel > 0, now_ns, ego_s, stop_dist,
                                              p.emergency_clear_s)
        ev_stop = emergency.stop_point(self.emergency, n_rel)
        if ev_stop is not None:
            stops.append(ev_stop)
            zones = [(la.s, f"stop line {la.line.stop_line_id}") for la in lines]
            zones += [(c.s_in, f"crosswalk {c.area.id}") for c in self.crosswalks if c.s_out >= ego_s]
            clear = emergency.keep_clear(self.emergency, zones, ego_s, front, ego.speed, p.comfort_decel_mps2)
            if clear is not None:
                stops.append(clear)
        offset_m = emergency.pull_over_offset(float(win.lane_width[0]), p.ego_width_m, p.pull_over_offset_m)
        lateral = emergency.lateral_offset(self.emergency, win.s, offset_m, p.pull_over_distance_m)
        if self.emergency.release_s is not None and ego_s > self.emergency.release_s + p.pull_over_distance_m:
            self.emergency = emergency.EmergencyState()
        # perception stale: conservative
        if not objects_ok:
            if p.stale_objects_speed_mps <= 0.0:
                stops.append(StopPoint(ego_s + ego.speed ** 2 / (2.0 * p.comfort_decel_mps2), "objects_stale",
                                       "no fresh tracked objects: stop and hold"))
            else:
                caps = np.minimum(caps, p.stale_objects_speed_mps)
        # the goal and the end of the route
        last = self.mission.goals_ahead()[-1] if self.mission.goals_ahead() else None
        if last is not None and last.kind != GoalKind.PATROL and path.goal_s:
            stops.append(StopPoint(path.goal_s[-1], "goal", f"goal '{last.goal_id}'"))
        stops.append(StopPoint(path.length, "end_of_route", "end of the route"))

        stop = min(stops, key=lambda sp: sp.s)
        stop_rel = stop.s - ego_s
        in_window = stop_rel <= win.s[-1] - ego_s + 1e-6
        a0 = self._previous_accel(now_ns)
        v_start = ego.speed
        if ego.speed < p.engage_speed_mps and (not in_window or stop_rel > ENGAGE_MIN_DISTANCE_M) \
                and float(caps[0]) >= p.engage_speed_mps:
            v_start = p.engage_speed_mps  # moving off: the trajectory must ask for motion where the vehicle is
        prof = profile(win.s - ego_s, caps, stop_rel if in_window else None, v_start, a0, self.limits)
        self._last = (now_ns, prof.t, prof.a)
        points = self._points(win, prof, lateral) if len(prof.s) >= 2 else self._hold_points(win.s, lateral)

        v_cap = float(caps[0]) if len(caps) else 0.0
        braking = v_cap * v_cap / (2.0 * p.comfort_decel_mps2) + 5.0
        stop_active = stop.reason != "end_of_route" and stop_rel <= max(braking, 2.0 * ego.speed + 5.0)
        if stop.reason == "end_of_route" and stop_rel <= braking:
            stop_active = True
        self.state = dec.transition(self.state, dec.DecisionInputs(
            True, self.mission.phase, True, stop_active, stop_rel if stop_active else math.inf, ego.speed,
            p.stopped_speed_mps))
        if stop_active:
            reason, detail = stop.reason, stop.detail
        else:
            reason = "cruise"
            detail = f"limit {v_cap:.2f} m/s ({speed_limit.SOURCES[int(which[0])] if len(which) else 'none'})"
        info = {
            "speed_mps": round(ego.speed, 3),
            "target_speed_mps": round(float(prof.v[min(len(prof.v) - 1, 2)]), 3),
            "speed_limit": {"mps": round(v_cap, 3),
                            "source": speed_limit.SOURCES[int(which[0])] if len(which) else "none"},
            "stop": {"reason": stop.reason, "distance_m": round(stop_rel, 2), "detail": stop.detail},
            "mission": self._mission_info(now_ns),
            "route": {"lanelets": list(path.lanelets), "length_m": round(path.length, 1), "s_m": round(ego_s, 2)},
            "traffic_lights": light_report,
            "crosswalks": cw_report,
            "objects": ob_report,
            "emergency": self.emergency.phase.value,
            "inputs": {"odometry": True, "traffic_signals": bool(signals_ok), "perceived_signals": bool(seen_ok),
                       "v2x_hints": bool(hints_ok), "objects": bool(objects_ok)},
        }
        return points, Decision(now_ns, self.state, reason, detail, info)

    def _previous_accel(self, now_ns: int) -> float:
        if self._last is None:
            return 0.0
        t0, t, a = self._last
        dt = (now_ns - t0) / NS
        if not 0.0 <= dt <= 0.5 or len(t) < 2:
            return 0.0
        return float(np.interp(dt, t, a))

    def _points(self, win: PathWindow, prof, lateral: np.ndarray) -> TrajectoryPoints:
        path = self.path
        assert path is not None
        s_abs = win.s[0] + prof.s
        xy, yaw = path.at(s_abs)
        off = np.interp(s_abs, win.s, lateral)
        if np.any(np.abs(off) > 1e-6):
            n = np.stack([-np.sin(yaw), np.cos(yaw)], axis=1)
            xy = xy + n * off[:, None]
            if len(s_abs) > 1:
                yaw = yaw + np.arctan(np.gradient(off, s_abs)) if np.all(np.diff(s_abs) > 0) else yaw
        z = np.interp(s_abs, path.s, path.z)
        k = np.interp(s_abs, path.s, path.curvature)
        grade = np.interp(s_abs, path.s, path.grade)
        yaw = np.arctan2(np.sin(yaw), np.cos(yaw))
        return TrajectoryPoints(xy[:, 0], xy[:, 1], z, yaw, prof.v, prof.a, prof.t, k, grade)

    # ------------------------------------------------------------------ holding
    def _hold(self, now_ns: int, reason: str, detail: str, *, odom_ok: bool = True, speed: float = 0.0,
              hold_path: bool = False) -> tuple[TrajectoryPoints, Decision]:
        """Stop and hold: an empty trajectory, or (``hold_path``) zero-speed points on the path ahead."""
        route_ok = reason != "no_route"
        self.state = dec.transition(self.state, dec.DecisionInputs(
            odom_ok, self.mission.phase, route_ok, True, 0.0, speed, self.p.stopped_speed_mps))
        points = self._hold_points() if hold_path else TrajectoryPoints.empty()
        self._last = None
        info: dict[str, Any] = {"speed_mps": round(speed, 3), "mission": self._mission_info(now_ns),
                                "inputs": {"odometry": odom_ok}, "route": {"error": self.route_error}}
        return points, Decision(now_ns, self.state, reason, detail, info)

    def _hold_points(self, offset_s: np.ndarray | None = None, offset: np.ndarray | None = None) -> TrajectoryPoints:
        """Zero-speed points on the path from the vehicle (the controller keeps the lane and holds), shifted by
        the lateral ``offset`` (m, left positive, given at arc lengths ``offset_s``); empty without a path.
        ``t`` counts 1 s per point only to stay increasing."""
        if self.path is None or self.ego_s is None:
            return TrajectoryPoints.empty()
        hold_len = 2.0  # m
        start = min(max(self.ego_s, 0.0), max(self.path.length - hold_len, 0.0))
        s = start + np.arange(0.0, hold_len + 1e-9, self.p.path_resolution_m)
        s = s[s <= self.path.length + 1e-9]
        xy, yaw = self.path.at(s)
        if offset is not None and offset_s is not None and len(offset_s):
            off = np.interp(s, offset_s, offset)
            xy = xy + np.stack([-np.sin(yaw), np.cos(yaw)], axis=1) * off[:, None]
        zero = np.zeros(len(s))
        return TrajectoryPoints(xy[:, 0], xy[:, 1], np.interp(s, self.path.s, self.path.z), yaw, zero, zero.copy(),
                                np.arange(len(s), dtype=np.float64), np.interp(s, self.path.s, self.path.curvature),
                                np.interp(s, self.path.s, self.path.grade))

    def _mission_info(self, now_ns: int) -> dict[str, Any]:
        m = self.mission
        g = m.current
        out: dict[str, Any] = {"phase": m.phase.value, "goal_id": g.goal_id if g else None,
                               "index": m.index, "count": len(m.goals)}
        if m.phase == MissionPhase.DWELLING:
            out["dwell_left_s"] = round(max(0.0, (m.dwell_until_ns - now_ns) / NS), 2)
        return out
