"""Profile-neutral V2X messages as plain dataclasses (pure: no rclpy, no ASN.1).

A profile (``csae53``, later ``j2735``) maps its decoded ASN.1 values to these types and back;
checks, hints and the node only ever see these. Positions are kept as integers in the units of
the air interface (1e-7 degree, 0.1 m) so that encode -> decode is exact; the properties give
SI / degree values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

LAT_LON_SCALE = 1e-7  # deg per unit
ELEVATION_SCALE = 0.1  # m per unit
SPEED_SCALE = 0.02  # m/s per unit
HEADING_SCALE = 0.0125  # deg per unit
TIME_MARK_SCALE = 0.1  # s per unit
RADIUS_SCALE = 0.1  # m per unit


class MessageKind(enum.Enum):
    BSM = "bsm"
    MAP = "map"
    SPAT = "spat"
    RSI = "rsi"
    RSM = "rsm"


class LightState(enum.IntEnum):
    """SPaT light states; the numbers are those of the ASN.1 enumeration and of lsv_msgs/TrafficSignal."""

    UNAVAILABLE = 0
    DARK = 1
    FLASHING_RED = 2
    RED = 3
    FLASHING_GREEN = 4
    PERMISSIVE_GREEN = 5
    PROTECTED_GREEN = 6
    YELLOW = 7
    FLASHING_YELLOW = 8


STOP_STATES = frozenset({LightState.RED, LightState.FLASHING_RED})


@dataclass(frozen=True)
class GeoPoint:
    """WGS84 point; lat/lon in 1e-7 degree, elevation in 0.1 m (None = not given)."""

    lat_e7: int
    lon_e7: int
    elevation_dm: int | None = None

    @property
    def lat_deg(self) -> float:
        return self.lat_e7 * LAT_LON_SCALE

    @property
    def lon_deg(self) -> float:
        return self.lon_e7 * LAT_LON_SCALE

    @property
    def elevation_m(self) -> float | None:
        return None if self.elevation_dm is None else self.elevation_dm * ELEVATION_SCALE

    @staticmethod
    def from_deg(lat_deg: float, lon_deg: float, elevation_m: float | None = None) -> GeoPoint:
        return GeoPoint(round(lat_deg / LAT_LON_SCALE), round(lon_deg / LAT_LON_SCALE),
                        None if elevation_m is None else round(elevation_m / ELEVATION_SCALE))


@dataclass(frozen=True)
class NodeRef:
    """Intersection (MAP node) id: road regulator region (None = not given) and node id."""

    region: int | None
    node_id: int


# ---------------------------------------------------------------------------------- BSM

EMERGENCY_CLASSES = frozenset(range(60, 70)) | {58}  # BasicVehicleClass: 60..69 emergency, 58 ambulance


@dataclass(frozen=True)
class Bsm:
    """Basic safety message of another vehicle."""

    msg_count: int
    vehicle_id: bytes  # 8 bytes, temporary id
    sec_mark_ms: int  # ms in the UTC minute (60000.. = leap second / invalid)
    position: GeoPoint
    speed_raw: int  # 0.02 m/s, 8191 = unavailable
    heading_raw: int  # 0.0125 deg clockwise from north, 28800 = unavailable
    width_cm: int
    length_cm: int
    vehicle_class: int  # BasicVehicleClass
    transmission: str = "unavailable"
    height_5cm: int | None = None
    response_type: str | None = None  # VehicleEmergencyExtensions.responseType
    siren_use: str | None = None
    lights_use: str | None = None
    # long, lat (0.01 m/s^2), vert (0.02 g), yaw (0.01 deg/s); default = unavailable
    accel_raw: tuple[int, int, int, int] = (2001, 2001, -127, 0)

    kind = MessageKind.BSM

    @property
    def speed_mps(self) -> float | None:
        return None if self.speed_raw == 8191 else self.speed_raw * SPEED_SCALE

    @property
    def heading_deg(self) -> float | None:
        return None if self.heading_raw >= 28800 else self.heading_raw * HEADING_SCALE

    @property
    def is_emergency(self) -> bool:
        """An emergency vehicle on duty: emergency class, or an emergency response with siren/lights."""
        on_duty = self.siren_use == "inUse" or self.lights_use == "inUse" or self.response_type in (
            "emergency", "pursuit")
        if self.vehicle_class in EMERGENCY_CLASSES:
            # an emergency-class vehicle that says it is not on a call gets no priority
            return self.response_type not in ("nonEmergency", "stationary") or on_duty
        return self.emergency_ext_present and on_duty

    @property
    def emergency_ext_present(self) -> bool:
        return self.response_type is not None or self.siren_use is not None or self.lights_use is not None


# ---------------------------------------------------------------------------------- MAP


@dataclass(frozen=True)
class Connection:
    """Where a lane leads: downstream intersection, connecting (egress) lane, signal phase."""

    remote: NodeRef
    connecting_lane: int | None = None
    maneuver_bits: int | None = None  # AllowedManeuvers, 12 bits, bit 0 = MSB
    phase_id: int | None = None


@dataclass(frozen=True)
class SpeedLimit:
    limit_type: str  # SpeedLimitType name, e.g. "vehicleMaxSpeed"
    speed_raw: int  # 0.02 m/s

    @property
    def speed_mps(self) -> float:
        return self.speed_raw * SPEED_SCALE


@dataclass(frozen=True)
class MapLane:
    lane_id: int
    lane_type: str | None = None  # LaneTypeAttributes choice: "vehicle", "crosswalk", ...
    lane_type_bits: int = 0
    width_cm: int | None = None
    maneuver_bits: int | None = None
    connections: tuple[Connection, ...] = ()
    speed_limits: tuple[SpeedLimit, ...] = ()
    points: tuple[GeoPoint, ...] = ()  # upstream -> downstream; for an ingress lane the last is the stop line


@dataclass(frozen=True)
class Movement:
    remote: NodeRef
    phase_id: int | None = None


@dataclass(frozen=True)
class MapLink:
    upstream: NodeRef
    lanes: tuple[MapLane, ...]
    name: str | None = None
    width_cm: int | None = None
    speed_limits: tuple[SpeedLimit, ...] = ()
    points: tuple[GeoPoint, ...] = ()
    movements: tuple[Movement, ...] = ()


@dataclass(frozen=True)
class MapNode:
    ref: NodeRef
    position: GeoPoint
    links: tuple[MapLink, ...] = ()
    name: str | None = None


@dataclass(frozen=True)
class MapData:
    msg_count: int
    nodes: tuple[MapNode, ...]
    moy: int | None = None

    kind = MessageKind.MAP


# ---------------------------------------------------------------------------------- SPAT


@dataclass(frozen=True)
class PhaseStep:
    """One light state of a phase with its timing (TimeMark units of 0.1 s, None = absent).

    ``timing`` is "counting" (values are durations from the message time) or "utc" (values
    are 0.1 s in the current UTC hour) or None (no timing).
    """

    light: LightState
    timing: str | None = None
    start: int | None = None
    min_end: int | None = None
    max_end: int | None = None
    likely_end: int | None = None
    confidence: int | None = None  # 0.5 %
    next_start: int | None = None
    next_end: int | None = None  # nextDuration (counting) or nextEndUTCTime (utc)


@dataclass(frozen=True)
class Phase:
    phase_id: int
    steps: tuple[PhaseStep, ...]


@dataclass(frozen=True)
class IntersectionSignals:
    ref: NodeRef
    status_bits: int  # IntersectionStatusObject, 16 bits, bit 0 = MSB
    phases: tuple[Phase, ...]
    moy: int | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Spat:
    msg_count: int
    intersections: tuple[IntersectionSignals, ...]
    moy: int | None = None
    timestamp_ms: int | None = None
    name: str | None = None

    kind = MessageKind.SPAT


# ---------------------------------------------------------------------------------- RSI


@dataclass(frozen=True)
class ReferencePath:
    points: tuple[GeoPoint, ...]
    radius_dm: int  # 0.1 m


@dataclass(frozen=True)
class RoadEvent:
    """A road traffic event (RTE): works, hazard, ... of type GB/T 29100 ``event_type``."""

    rte_id: int
    event_type: int
    source: str = "unknown"
    position: GeoPoint | None = None
    radius_dm: int | None = None
    description: str | None = None
    start_moy: int | None = None
    end_moy: int | None = None
    priority: int | None = None  # 0..7 (upper three bits of RSIPriority)
    paths: tuple[ReferencePath, ...] = ()
    confidence: int | None = None


@dataclass(frozen=True)
class RoadSign:
    """A road traffic sign (RTS) of type GB 5768.2 ``sign_type``."""

    rts_id: int
    sign_type: int
    position: GeoPoint | None = None
    description: str | None = None
    start_moy: int | None = None
    end_moy: int | None = None
    priority: int | None = None
    paths: tuple[ReferencePath, ...] = ()


@dataclass(frozen=True)
class Rsi:
    msg_count: int
    rsu_id: bytes
    position: GeoPoint
    events: tuple[RoadEvent, ...] = ()
    signs: tuple[RoadSign, ...] = ()
    moy: int | None = None

    kind = MessageKind.RSI


# ---------------------------------------------------------------------------------- RSM


@dataclass(frozen=True)
class Participant:
    """A road user perceived by the road-side unit."""

    ptc_type: str  # "unknown", "motor", "non-motor", "pedestrian", "rsu"
    ptc_id: int
    source: str
    sec_mark_ms: int
    position: GeoPoint
    speed_raw: int
    heading_raw: int
    width_cm: int
    length_cm: int
    pos_confidence: str = "unavailable"
    height_5cm: int | None = None
    vehicle_class: int | None = None
    vehicle_id: bytes | None = None

    @property
    def speed_mps(self) -> float | None:
        return None if self.speed_raw == 8191 else self.speed_raw * SPEED_SCALE

    @property
    def heading_deg(self) -> float | None:
        return None if self.heading_raw >= 28800 else self.heading_raw * HEADING_SCALE


@dataclass(frozen=True)
class Rsm:
    msg_count: int
    rsu_id: bytes
    position: GeoPoint
    participants: tuple[Participant, ...] = field(default=())

    kind = MessageKind.RSM


V2xMessage = Bsm | MapData | Spat | Rsi | Rsm
