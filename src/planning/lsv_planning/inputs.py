"""The planner's inputs as plain dataclasses (pure: the node converts messages into these).

Times are ROS time in nanoseconds (``*_ns``); positions in the map frame, m; yaw in rad CCW from x.
Numeric constants mirror the lsv_msgs definitions so the core needs no message import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NS = 1_000_000_000

# lsv_msgs/TrafficSignal STATE_*
STATE_UNAVAILABLE = 0
STATE_DARK = 1
STATE_FLASHING_RED = 2
STATE_RED = 3
STATE_FLASHING_GREEN = 4
STATE_PERMISSIVE_GREEN = 5
STATE_PROTECTED_GREEN = 6
STATE_YELLOW = 7
STATE_FLASHING_YELLOW = 8

# lsv_msgs/TrafficSignal SOURCE_*
SOURCE_V2X = 1  # V2X SPaT, not authenticated
SOURCE_PERCEPTION = 2
SOURCE_V2X_AUTHENTICATED = 3  # V2X SPaT signed by a road-side unit in the v2x_client's trust store

# lsv_msgs/V2xHint TYPE_*
HINT_PEDESTRIAN_CROSSING = 1
HINT_BLIND_SPOT_OBJECT = 2
HINT_EMERGENCY_VEHICLE = 3
HINT_ROAD_HAZARD = 4
HINT_SPEED_LIMIT = 5
HINT_RED_LIGHT_WARNING = 6

# lsv_msgs/DetectedObject CLASS_*
CLASS_UNKNOWN = 0
CLASS_CAR = 1
CLASS_TRUCK = 2
CLASS_BUS = 3
CLASS_CYCLIST = 4
CLASS_MOTORCYCLE = 5
CLASS_PEDESTRIAN = 6
CLASS_ANIMAL = 7
CLASS_EMERGENCY_VEHICLE = 8
CLASS_STATIC_OBSTACLE = 9

VULNERABLE_CLASSES = frozenset({CLASS_PEDESTRIAN, CLASS_CYCLIST, CLASS_ANIMAL})


@dataclass(frozen=True)
class EgoState:
    x: float
    y: float
    yaw: float
    speed: float  # m/s along the heading
    stamp_ns: int


@dataclass(frozen=True)
class TrackedObj:
    object_id: int
    classification: int
    x: float
    y: float
    yaw: float
    vx: float  # m/s, map frame
    vy: float
    length: float
    width: float
    score: float = 1.0


@dataclass(frozen=True)
class Signal:
    intersection_id: int
    phase_id: int
    state: int
    lanelet_id: int = 0  # 0 = not matched to a lanelet by the sender
    region_id: int = 0
    min_end_ns: int = 0  # 0 = unknown
    likely_end_ns: int = 0
    max_end_ns: int = 0
    # V2X: signed by a trusted road-side unit (SOURCE_V2X_AUTHENTICATED). Only such a green may take the
    # vehicle over a stop line without a camera reading (behaviours/traffic_light.py). False by default:
    # what does not say it is authenticated is not.
    authenticated: bool = False


@dataclass(frozen=True)
class Hint:
    type: int
    x: float
    y: float
    valid_until_ns: int
    hint_id: int = 0
    source_id: str = ""
    radius: float = 0.0
    zone: np.ndarray | None = None  # (K, 2) polygon, None = circle of ``radius``
    vx: float = 0.0
    vy: float = 0.0
    speed_limit_mps: float = 0.0
    distance: float = -1.0
    time_to_path: float = -1.0
    intersection_id: int = 0  # RED_LIGHT_WARNING / PEDESTRIAN_CROSSING: MAP intersection (0 = none)


@dataclass(frozen=True)
class Stamped:
    """A received array with the time it describes (header stamp, ns)."""

    stamp_ns: int
    items: tuple = ()


@dataclass(frozen=True)
class PlannerInputs:
    ego: EgoState | None = None
    signals: Stamped | None = None  # items: Signal (V2X SPaT)
    hints: Stamped | None = None  # items: Hint
    objects: Stamped | None = None  # items: TrackedObj
    perceived_signals: Stamped | None = None  # items: Signal (camera: the colour seen now, no timing)
    extra: dict = field(default_factory=dict)  # reserved


def fresh(data: Stamped | None, now_ns: int, timeout_s: float) -> bool:
    """True when ``data`` exists and its stamp is within ``timeout_s`` of ``now_ns`` (a future stamp
    by more than the timeout counts as not fresh too: a clock mismatch must not look valid)."""
    return data is not None and abs(now_ns - data.stamp_ns) <= timeout_s * NS
