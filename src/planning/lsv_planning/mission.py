"""The mission: an ordered list of goals and where the vehicle is in it (pure).

Goals are delivery stops (drive there, stop, dwell ``dwell_s``, go on), patrol waypoints (drive
through without stopping; a mission made only of patrol waypoints repeats forever) and a park
goal (drive there and stop: end of mission). They come from a YAML file (``load_yaml``) or one
by one from ``lsv_msgs/MissionGoal`` (``add_goal``: ``append`` adds, otherwise replaces).

State machine (``transition``; ``reached`` = within tolerance and stopped for stop/park goals,
passed for patrol waypoints)::

    IDLE     --goals present-->                   DRIVING (goal 0)
    DRIVING  --reached patrol waypoint-->         DRIVING (next; after the last: goal 0 if the whole
                                                           mission is a patrol loop, else DONE)
    DRIVING  --reached stop goal, dwell > 0-->    DWELLING
    DRIVING  --reached stop goal, no dwell-->     DRIVING (next) or DONE after the last
    DRIVING  --reached park goal-->               DONE
    DWELLING --dwell over-->                      DRIVING (next) or DONE after the last
    any      --add_goal(replace) / append when IDLE or DONE--> DRIVING

``version`` changes whenever the goal the vehicle drives to changes, so the planner knows to
route again.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from lsv_planning.inputs import NS


class MissionError(ValueError):
    """A mission file or goal is invalid."""


class GoalKind(enum.Enum):
    STOP = "stop"
    PATROL = "patrol_loop"
    PARK = "park"


# lsv_msgs/MissionGoal KIND_*
KIND_FROM_MSG = {1: GoalKind.STOP, 2: GoalKind.PATROL, 3: GoalKind.PARK}


@dataclass(frozen=True)
class Goal:
    goal_id: str
    kind: GoalKind
    x: float
    y: float
    yaw: float | None = None  # rad; None = any heading
    lanelet_id: int = 0  # 0 = the nearest lanelet
    dwell_s: float = 0.0
    tolerance_m: float | None = None  # None = the planner's goal_tolerance_m


class MissionPhase(enum.Enum):
    IDLE = "idle"
    DRIVING = "driving"
    DWELLING = "dwelling"
    DONE = "done"


@dataclass(frozen=True)
class MissionState:
    goals: tuple[Goal, ...] = ()
    index: int = 0
    phase: MissionPhase = MissionPhase.IDLE
    dwell_until_ns: int = 0
    version: int = 0

    @property
    def current(self) -> Goal | None:
        if self.phase in (MissionPhase.DRIVING, MissionPhase.DWELLING) and 0 <= self.index < len(self.goals):
            return self.goals[self.index]
        return None

    @property
    def is_patrol_loop(self) -> bool:
        return bool(self.goals) and all(g.kind == GoalKind.PATROL for g in self.goals)

    def goals_ahead(self) -> list[Goal]:
        """The goals the route must go through from now: up to and including the next stop/park goal;
        for a patrol loop, once round and back to the current waypoint."""
        if self.current is None:
            return []
        if self.is_patrol_loop:
            n = len(self.goals)
            return [self.goals[(self.index + k) % n] for k in range(n + 1)]
        out = []
        for g in self.goals[self.index:]:
            out.append(g)
            if g.kind != GoalKind.PATROL:
                break
        return out


def _advance(state: MissionState) -> MissionState:
    nxt = state.index + 1
    if nxt >= len(state.goals):
        if state.is_patrol_loop:
            return replace(state, index=0, phase=MissionPhase.DRIVING, version=state.version + 1)
        return replace(state, index=len(state.goals), phase=MissionPhase.DONE, version=state.version + 1)
    return replace(state, index=nxt, phase=MissionPhase.DRIVING, version=state.version + 1)


def transition(state: MissionState, now_ns: int, reached: bool) -> MissionState:
    """Next mission state (see the module docstring)."""
    p = state.phase
    if p == MissionPhase.IDLE:
        if state.goals:
            return replace(state, index=0, phase=MissionPhase.DRIVING, version=state.version + 1)
        return state
    if p == MissionPhase.DRIVING:
        g = state.current
        if g is None or not reached:
            return state
        if g.kind == GoalKind.PARK:
            return replace(state, phase=MissionPhase.DONE, version=state.version + 1)
        if g.kind == GoalKind.STOP and g.dwell_s > 0:
            return replace(state, phase=MissionPhase.DWELLING, dwell_until_ns=now_ns + int(g.dwell_s * NS))
        return _advance(state)
    if p == MissionPhase.DWELLING:
        if now_ns >= state.dwell_until_ns:
            return _advance(state)
        return state
    return state  # DONE: only add_goal leaves it


def add_goal(state: MissionState, goal: Goal, append: bool) -> MissionState:
    """A goal from ``~/input/mission_goal``: ``append`` adds it at the end, otherwise the mission becomes it."""
    if not append:
        return MissionState((goal,), 0, MissionPhase.DRIVING, 0, state.version + 1)
    goals = (*state.goals, goal)
    if state.phase in (MissionPhase.IDLE, MissionPhase.DONE):
        idx = 0 if state.phase == MissionPhase.IDLE else len(state.goals)
        return MissionState(goals, idx, MissionPhase.DRIVING, 0, state.version + 1)
    return replace(state, goals=goals)


def with_goals(goals: Sequence[Goal]) -> MissionState:
    return transition(MissionState(tuple(goals)), 0, False) if goals else MissionState()


def goal_from_dict(d: dict, where: str) -> Goal:
    try:
        kind = GoalKind(str(d.get("kind", "stop")))
    except ValueError as err:
        raise MissionError(f"{where}: kind must be one of {[k.value for k in GoalKind]}, got {d.get('kind')!r}") \
            from err
    try:
        x, y = float(d["x"]), float(d["y"])
        yaw = math.radians(float(d["yaw_deg"])) if "yaw_deg" in d else None
        tol = float(d["tolerance_m"]) if "tolerance_m" in d else None
        return Goal(str(d.get("id", where)), kind, x, y, yaw, int(d.get("lanelet_id", 0)),
                    float(d.get("dwell_s", 0.0)), tol)
    except (KeyError, TypeError, ValueError) as err:
        raise MissionError(f"{where}: a goal needs numeric x, y (optional yaw_deg, dwell_s, tolerance_m, "
                           f"lanelet_id): {err!r}") from err


def load_yaml(path: str | Path) -> list[Goal]:
    """Goals from a YAML file: ``goals: [{id, x, y, yaw_deg, kind: stop|patrol_loop|park, dwell_s,
    tolerance_m, lanelet_id}, ...]`` (the simulator scenarios' ``mission:`` section has this form)."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise MissionError(f"mission file {p}: {err}") from err
    if isinstance(doc, dict) and "mission" in doc and isinstance(doc["mission"], dict):
        doc = doc["mission"]
    goals = doc.get("goals") if isinstance(doc, dict) else None
    if not isinstance(goals, list) or not goals:
        raise MissionError(f"mission file {p}: expected a non-empty list under 'goals:'")
    return [goal_from_dict(g if isinstance(g, dict) else {}, f"{p} goal {i}") for i, g in enumerate(goals)]
