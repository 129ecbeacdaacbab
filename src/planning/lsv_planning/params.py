"""Parameters of the planner (pure: no rclpy). SI units unless the name says otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field

from lsv_common.params import spec

HARD_SPEED_CAP_MPS = 25.0 / 3.6  # m/s, the vehicle class limit: no parameter can exceed it


@dataclass(frozen=True)
class PlannerParams:
    # -- map ---------------------------------------------------------------------------------
    map_path: str = field(metadata=spec("Lanelet2 OSM map: a file path, or package://<pkg>/<path> in "
                                        "that package's share directory (or src/ of a checkout)"))
    map_origin_lat_deg: float = field(metadata=spec("latitude of the map projector origin", unit="deg",
                                                    min=-90.0, max=90.0))
    map_origin_lon_deg: float = field(metadata=spec("longitude of the map projector origin", unit="deg",
                                                    min=-180.0, max=180.0))
    map_origin_alt_m: float = field(default=0.0, metadata=spec("altitude of the projector origin", unit="m",
                                                               optional=True))
    mission_file: str = field(default="", metadata=spec("YAML mission loaded at start (empty = wait for "
                                                        "~/input/mission_goal)", optional=True))
    # -- vehicle -------------------------------------------------------------------------------
    max_speed_mps: float = field(default=15.0 / 3.6, metadata=spec(
        "the vehicle's own speed limit (hard cap 25 km/h)", unit="m/s", min=0.5, max=HARD_SPEED_CAP_MPS))
    ego_length_m: float = field(default=3.0, metadata=spec("vehicle length", unit="m", min=0.5, max=10.0))
    ego_width_m: float = field(default=1.4, metadata=spec("vehicle width", unit="m", min=0.3, max=3.0))
    ego_front_overhang_m: float = field(default=2.45, metadata=spec(
        "base_link (odometry point) to the front bumper", unit="m", min=0.0, max=10.0))
    # -- profile -------------------------------------------------------------------------------
    accel_mps2: float = field(default=0.8, metadata=spec("acceleration limit", unit="m/s^2", min=0.1, max=3.0))
    comfort_decel_mps2: float = field(default=1.0, metadata=spec(
        "comfortable deceleration (normal stops; dilemma-zone threshold)", unit="m/s^2", min=0.2, max=3.0))
    max_decel_mps2: float = field(default=3.0, metadata=spec(
        "hardest planned deceleration (obstacles, pedestrians, red lights)", unit="m/s^2", min=0.5, max=6.0))
    jerk_mps3: float = field(default=1.0, metadata=spec("jerk limit", unit="m/s^3", min=0.1, max=10.0))
    engage_speed_mps: float = field(default=0.5, metadata=spec(
        "planned speed at the vehicle's position when it starts from rest (a controller that previews the "
        "trajectory at its own speed would otherwise read 0 and never move off)", unit="m/s", min=0.0, max=2.0))
    max_lateral_accel_mps2: float = field(default=1.0, metadata=spec(
        "lateral acceleration limit in curves", unit="m/s^2", min=0.2, max=4.0))
    min_curve_speed_mps: float = field(default=1.5, metadata=spec(
        "curve speed never capped below this", unit="m/s", min=0.1, max=5.0))
    # -- path ----------------------------------------------------------------------------------
    path_resolution_m: float = field(default=0.5, metadata=spec("spacing of trajectory points", unit="m",
                                                                min=0.1, max=2.0))
    horizon_m: float = field(default=80.0, metadata=spec("length of the published trajectory", unit="m",
                                                         min=10.0, max=300.0))
    smoothing_m: float = field(default=1.0, metadata=spec(
        "Gaussian smoothing of the lanelet centre lines (sigma)", unit="m", min=0.0, max=5.0))
    replan_deviation_m: float = field(default=4.0, metadata=spec(
        "ego farther than this from the reference path -> new route", unit="m", min=0.5, max=20.0))
    goal_tolerance_m: float = field(default=2.0, metadata=spec(
        "a stop goal is reached within this distance (MissionGoal has no tolerance)", unit="m", min=0.1, max=10.0))
    stopped_speed_mps: float = field(default=0.2, metadata=spec("below this the vehicle counts as stopped",
                                                                unit="m/s", min=0.01, max=1.0))
    # -- inputs --------------------------------------------------------------------------------
    odometry_timeout_s: float = field(default=0.5, metadata=spec("older odometry = no odometry", unit="s",
                                                                 min=0.05, max=5.0))
    signals_timeout_s: float = field(default=1.0, metadata=spec("older TrafficSignalArray is ignored", unit="s",
                                                                min=0.1, max=10.0))
    perceived_signals_timeout_s: float = field(default=1.0, metadata=spec(
        "older TrafficSignalArray from the camera (traffic_light_classifier) is ignored", unit="s", min=0.1,
        max=10.0, optional=True))
    hints_timeout_s: float = field(default=1.0, metadata=spec("older V2xHintArray is ignored", unit="s",
                                                              min=0.1, max=10.0))
    objects_timeout_s: float = field(default=0.5, metadata=spec(
        "older TrackedObjectArray = perception stale", unit="s", min=0.1, max=5.0))
    stale_objects_speed_mps: float = field(default=0.0, metadata=spec(
        "speed cap while objects are stale or missing (0 = comfortable stop and hold)", unit="m/s",
        min=0.0, max=HARD_SPEED_CAP_MPS))
    # -- traffic lights ------------------------------------------------------------------------
    stop_line_margin_m: float = field(default=0.5, metadata=spec(
        "front bumper stops this far before a stop line", unit="m", min=0.0, max=5.0))
    light_lookahead_m: float = field(default=100.0, metadata=spec(
        "stop lines farther than this are not considered yet", unit="m", min=10.0, max=300.0))
    light_time_margin_s: float = field(default=1.0, metadata=spec(
        "green must last this long after the estimated arrival", unit="s", min=0.0, max=10.0))
    # -- crosswalks ----------------------------------------------------------------------------
    crosswalk_stop_margin_m: float = field(default=1.0, metadata=spec(
        "front bumper stops this far before a crosswalk", unit="m", min=0.0, max=5.0))
    crosswalk_margin_m: float = field(default=1.5, metadata=spec(
        "a pedestrian within this distance of a crosswalk counts as on it", unit="m", min=0.0, max=10.0))
    crosswalk_horizon_s: float = field(default=4.0, metadata=spec(
        "a pedestrian reaching a crosswalk within this time counts as heading to it", unit="s", min=0.0, max=15.0))
    crosswalk_lookahead_m: float = field(default=60.0, metadata=spec(
        "crosswalks farther than this are not considered yet", unit="m", min=5.0, max=200.0))
    # -- obstacles -----------------------------------------------------------------------------
    obstacle_lateral_margin_m: float = field(default=0.5, metadata=spec(
        "an object closer than half the ego width + this to the path blocks it", unit="m", min=0.0, max=3.0))
    obstacle_min_clearance_m: float = field(default=0.35, metadata=spec(
        "a standing vehicle or static obstacle between half the ego width + this and + obstacle_lateral_margin_m "
        "from the path is passed at obstacle_pass_speed_mps instead of stopped for (keep it above the controller's "
        "obstacle.lateral_margin_m); >= obstacle_lateral_margin_m: never", unit="m", min=0.0, max=3.0, optional=True))
    obstacle_pass_speed_mps: float = field(default=1.5, metadata=spec(
        "speed while alongside an object passed within obstacle_lateral_margin_m", unit="m/s", min=0.3, max=5.0,
        optional=True))
    obstacle_stop_margin_m: float = field(default=3.0, metadata=spec(
        "front bumper stops this far from a static obstacle", unit="m", min=0.5, max=20.0))
    follow_time_gap_s: float = field(default=1.5, metadata=spec("time gap to a moving lead object", unit="s",
                                                                min=0.2, max=5.0))
    follow_min_speed_mps: float = field(default=0.5, metadata=spec(
        "objects moving along the path faster than this are followed, slower ones are obstacles", unit="m/s",
        min=0.1, max=5.0))
    object_prediction_s: float = field(default=2.0, metadata=spec(
        "objects whose constant-velocity prediction enters the path within this time block it", unit="s",
        min=0.0, max=6.0))
    min_object_score: float = field(default=0.3, metadata=spec("tracks below this existence score are ignored",
                                                               min=0.0, max=1.0))
    # -- emergency vehicles --------------------------------------------------------------------
    emergency_range_m: float = field(default=150.0, metadata=spec(
        "emergency vehicles closer than this make the ego pull over", unit="m", min=5.0, max=500.0))
    emergency_clear_s: float = field(default=3.0, metadata=spec(
        "emergency vehicle gone or ahead and away for this long -> resume", unit="s", min=0.0, max=30.0))
    pull_over_offset_m: float = field(default=1.0, metadata=spec(
        "lateral shift to the right of the lane centre when pulling over (clipped to the lane)", unit="m",
        min=0.0, max=3.0))
    pull_over_distance_m: float = field(default=12.0, metadata=spec(
        "distance over which the ego shifts right and stops", unit="m", min=2.0, max=50.0))
    # -- speed limits --------------------------------------------------------------------------
    hazard_speed_mps: float = field(default=1.5, metadata=spec(
        "speed cap inside a V2X road-hazard zone", unit="m/s", min=0.0, max=HARD_SPEED_CAP_MPS))
