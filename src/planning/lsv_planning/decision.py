"""The planner's decision state (pure): what the vehicle is doing and why, for viewers and reports.

``transition(prev, inputs) -> DecisionState``, first matching rule wins:

    no fresh odometry                         -> NO_ODOMETRY
    mission IDLE                              -> IDLE
    mission DONE                              -> MISSION_COMPLETE
    no route (unreachable goal, off the map)  -> NO_ROUTE
    mission DWELLING                          -> DWELLING
    a stop constrains the profile and the vehicle is stopped near it
                                              -> STOPPED
    STOPPED before, stop still there, speed below resume_speed (hysteresis)
                                              -> STOPPED
    a stop constrains the profile             -> STOPPING
    otherwise                                 -> DRIVING
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lsv_planning.mission import MissionPhase


class DecisionState(enum.Enum):
    NO_ODOMETRY = "no_odometry"
    IDLE = "idle"
    MISSION_COMPLETE = "mission_complete"
    NO_ROUTE = "no_route"
    DWELLING = "dwelling"
    STOPPED = "stopped"
    STOPPING = "stopping"
    DRIVING = "driving"


@dataclass(frozen=True)
class DecisionInputs:
    odometry_ok: bool
    mission: MissionPhase
    route_ok: bool
    stop_active: bool  # a stop point (not the plain end of the route) limits the speed profile
    stop_distance_m: float  # from the vehicle to that stop point (inf when none)
    speed_mps: float
    stopped_speed_mps: float = 0.2
    resume_speed_mps: float = 0.5
    hold_distance_m: float = 3.0  # stopped within this distance of the stop point = STOPPED


def transition(prev: DecisionState, u: DecisionInputs) -> DecisionState:
    if not u.odometry_ok:
        return DecisionState.NO_ODOMETRY
    if u.mission == MissionPhase.IDLE:
        return DecisionState.IDLE
    if u.mission == MissionPhase.DONE:
        return DecisionState.MISSION_COMPLETE
    if not u.route_ok:
        return DecisionState.NO_ROUTE
    if u.mission == MissionPhase.DWELLING:
        return DecisionState.DWELLING
    if u.stop_active:
        if u.speed_mps <= u.stopped_speed_mps and u.stop_distance_m <= u.hold_distance_m:
            return DecisionState.STOPPED
        if prev == DecisionState.STOPPED and u.speed_mps < u.resume_speed_mps:
            return DecisionState.STOPPED
        return DecisionState.STOPPING
    return DecisionState.DRIVING
