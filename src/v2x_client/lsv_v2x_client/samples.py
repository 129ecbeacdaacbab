"""Realistic example messages around an intersection (tests, benchmark, simulated RSU).

The intersection is a four-arm crossing centred on ``CENTRE`` with, on each arm, a 2-lane
ingress link (lane 1 straight/left, lane 2 straight/right, phases 1..4 by arm) and a crosswalk
lane (lane 10+arm) in front of the stop line. Arms are numbered 0 = from the south (driving
north), 1 = from the west (driving east), 2 = from the north, 3 = from the east.
"""

from __future__ import annotations

import math

from lsv_v2x_client.messages import (
    Bsm,
    Connection,
    GeoPoint,
    IntersectionSignals,
    LightState,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    Movement,
    NodeRef,
    Participant,
    Phase,
    PhaseStep,
    ReferencePath,
    RoadEvent,
    RoadSign,
    Rsi,
    Rsm,
    Spat,
    SpeedLimit,
)

CENTRE = GeoPoint(302741000, 1201551000, 120)  # 30.2741 N, 120.1551 E, 12 m
REGION = 1
M_PER_DEG_LAT = 110_850.0  # m per degree of latitude near 30 deg N (approximate; tests use projection.py)


def offset_point(origin: GeoPoint, east_m: float, north_m: float) -> GeoPoint:
    """A point ``east_m``/``north_m`` from ``origin`` (small offsets; spherical approximation)."""
    dlat = north_m / M_PER_DEG_LAT
    dlon = east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat_deg)))
    return GeoPoint(origin.lat_e7 + round(dlat * 1e7), origin.lon_e7 + round(dlon * 1e7), origin.elevation_dm)


def _rot(arm: int, along: float, across: float) -> tuple[float, float]:
    """(east, north) of a point on arm ``arm``: ``along`` m from the centre outwards, ``across`` m to the right
    of a vehicle driving in."""
    # unit vector pointing outwards along the arm, and to the right of inbound traffic
    out = [(0.0, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, 0.0)][arm]
    right = (-out[1], out[0])  # inbound direction is -out; its right is (-out) rotated -90 deg
    return (out[0] * along + right[0] * across, out[1] * along + right[1] * across)


def intersection_node(node_id: int = 101, centre: GeoPoint = CENTRE, arm_length_m: float = 80.0) -> MapNode:
    links = []
    for arm in range(4):
        phase = arm + 1
        lanes = []
        for lane_no, across in ((1, -1.75), (2, 1.75)):
            pts = tuple(offset_point(centre, *_rot(arm, along, across))
                        for along in (arm_length_m, arm_length_m / 2, 12.0))  # last point = stop line
            conns = (Connection(NodeRef(REGION, node_id + 1), connecting_lane=lane_no + 4, maneuver_bits=0x800,
                                phase_id=phase),)
            lanes.append(MapLane(lane_id=arm * 10 + lane_no, lane_type="vehicle", lane_type_bits=0, width_cm=350,
                                 maneuver_bits=0x800 | (0x400 if lane_no == 1 else 0x200), connections=conns,
                                 speed_limits=(SpeedLimit("vehicleMaxSpeed", 694),), points=pts))
        xw = tuple(offset_point(centre, *_rot(arm, 9.0, across)) for across in (-8.0, 8.0))
        lanes.append(MapLane(lane_id=arm * 10 + 9, lane_type="crosswalk", lane_type_bits=0x1000, width_cm=400,
                             points=xw))
        upstream = NodeRef(REGION, node_id + 100 + arm)
        links.append(MapLink(upstream=upstream, lanes=tuple(lanes), name=f"arm{arm}", width_cm=700,
                             speed_limits=(SpeedLimit("vehicleMaxSpeed", 694),),
                             movements=(Movement(NodeRef(REGION, node_id + 1), phase),)))
    return MapNode(NodeRef(REGION, node_id), centre, tuple(links), name=f"crossing {node_id}")


def map_message(n_intersections: int = 1, msg_count: int = 1) -> MapData:
    """A MAP with ``n_intersections`` nodes 200 m apart along the east axis."""
    nodes = tuple(intersection_node(101 + i * 2, offset_point(CENTRE, 200.0 * i, 0.0)) for i in range(n_intersections))
    return MapData(msg_count=msg_count, nodes=nodes, moy=470_000)


def spat_message(msg_count: int = 5, moy: int = 470_000, timestamp_ms: int = 12_000,
                 red_phases: tuple[int, ...] = (2, 4), node_id: int = 101) -> Spat:
    """SPaT of one intersection: ``red_phases`` red for 20 s more, the others green for 15 s then yellow 3 s."""
    phases = []
    for pid in range(1, 5):
        if pid in red_phases:
            steps = (PhaseStep(LightState.RED, "counting", 0, 180, 250, 200, 180, 200, 150),
                     PhaseStep(LightState.PROTECTED_GREEN, "counting", 200, 350, 400, 350))
        else:
            steps = (PhaseStep(LightState.PROTECTED_GREEN, "counting", 0, 120, 170, 150, 160),
                     PhaseStep(LightState.YELLOW, "counting", 150, 180, 180, 180),
                     PhaseStep(LightState.RED, "counting", 180, 350, 420, 380))
        phases.append(Phase(pid, steps))
    inter = IntersectionSignals(NodeRef(REGION, node_id), status_bits=0x0400, phases=tuple(phases), moy=moy,
                                timestamp_ms=timestamp_ms)
    return Spat(msg_count=msg_count, intersections=(inter,), moy=moy, timestamp_ms=timestamp_ms, name="crossing")


def bsm_message(msg_count: int = 7, sec_mark_ms: int = 12_000, position: GeoPoint = CENTRE,
                speed_mps: float = 8.0, heading_deg: float = 90.0, vehicle_class: int = 10,
                emergency: bool = False, vehicle_id: bytes = b"\x0a\x1b\x2c\x3d\x00\x00\x00\x01") -> Bsm:
    return Bsm(msg_count=msg_count, vehicle_id=vehicle_id, sec_mark_ms=sec_mark_ms, position=position,
               speed_raw=round(speed_mps / 0.02), heading_raw=round(heading_deg / 0.0125) % 28800,
               width_cm=180, length_cm=460, height_5cm=30, vehicle_class=62 if emergency else vehicle_class,
               transmission="forwardGears", response_type="emergency" if emergency else None,
               siren_use="inUse" if emergency else None, lights_use="inUse" if emergency else None)


def rsm_message(msg_count: int = 9, sec_mark_ms: int = 12_000, rsu_position: GeoPoint = CENTRE,
                participants: tuple[Participant, ...] | None = None) -> Rsm:
    if participants is None:
        ped = Participant(ptc_type="pedestrian", ptc_id=12, source="video", sec_mark_ms=sec_mark_ms,
                          position=offset_point(rsu_position, -6.0, -9.0), speed_raw=70, heading_raw=7200,
                          width_cm=50, length_cm=50, pos_confidence="a50cm", height_5cm=34)
        bike = Participant(ptc_type="non-motor", ptc_id=13, source="lidar", sec_mark_ms=sec_mark_ms,
                           position=offset_point(rsu_position, 20.0, 3.0), speed_raw=200, heading_raw=21600,
                           width_cm=60, length_cm=180, pos_confidence="a1m")
        participants = (ped, bike)
    return Rsm(msg_count=msg_count, rsu_id=b"RSU00101", position=rsu_position, participants=participants)


def rsi_message(msg_count: int = 3, moy: int = 470_000, rsu_position: GeoPoint = CENTRE) -> Rsi:
    works = RoadEvent(rte_id=1, event_type=401, source="government",
                      position=offset_point(rsu_position, 0.0, 60.0), radius_dm=300,
                      description="road works", start_moy=moy - 600, end_moy=moy + 600, priority=5,
                      paths=(ReferencePath((offset_point(rsu_position, 0.0, 90.0),
                                            offset_point(rsu_position, 0.0, 40.0)), 50),),
                      confidence=190)
    limit = RoadSign(rts_id=2, sign_type=85, position=offset_point(rsu_position, -2.0, -40.0),
                     description="15", start_moy=moy - 60, end_moy=moy + 60, priority=3)
    return Rsi(msg_count=msg_count, rsu_id=b"RSU00101", position=rsu_position, events=(works,), signs=(limit,),
               moy=moy)
