"""T/CSAE 53-2020 profile: decoded ASN.1 values (asn1tools UPER) <-> lsv_v2x_client.messages.

asn1tools represents SEQUENCE as dict (absent OPTIONAL fields missing), CHOICE as
``(name, value)``, BIT STRING as ``(bytes, number_of_bits)``, ENUMERATED as its name, OCTET
STRING as bytes. ``to_message`` raises KeyError/TypeError/ValueError on a value the mapping
cannot take; the codec turns those into V2xDecodeError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsv_common.share import find_package_file
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
    MessageKind,
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
    V2xMessage,
)

ASN1_FILES = ("csae53_2020.asn",)
PDU = "MessageFrame"

_LIGHT_NAMES = {
    "unavailable": LightState.UNAVAILABLE, "dark": LightState.DARK, "flashing-red": LightState.FLASHING_RED,
    "red": LightState.RED, "flashing-green": LightState.FLASHING_GREEN,
    "permissive-green": LightState.PERMISSIVE_GREEN, "protected-green": LightState.PROTECTED_GREEN,
    "yellow": LightState.YELLOW, "flashing-yellow": LightState.FLASHING_YELLOW,
}
_LIGHT_TO_NAME = {v: k for k, v in _LIGHT_NAMES.items()}

# PositionOffsetLL choices from the smallest: (name, bits per coordinate)
_OFFSET_LL = (("position-LL1", 12), ("position-LL2", 14), ("position-LL3", 16), ("position-LL4", 18),
              ("position-LL5", 22), ("position-LL6", 24))
_OFFSET_V = (("offset1", 7), ("offset2", 8), ("offset3", 9), ("offset4", 10), ("offset5", 11), ("offset6", 12))

# The sizes of the fixed-size BIT STRINGs this mapping writes.
_LANE_TYPE_BITS = {"vehicle": 8, "crosswalk": 16, "bikeLane": 16, "sidewalk": 16, "median": 16,
                   "striping": 16, "trackedVehicle": 16, "parking": 16}


def asn1_dir() -> Path:
    """Folder holding the package's .asn files (``lsv_common.share``)."""
    return find_package_file("lsv_v2x_client", "asn1")


# ------------------------------------------------------------------------------ helpers

def bits_to_int(value: tuple[bytes, int]) -> int:
    data, nbits = value
    return int.from_bytes(data, "big") >> (len(data) * 8 - nbits) if nbits else 0


def int_to_bits(value: int, nbits: int) -> tuple[bytes, int]:
    nbytes = (nbits + 7) // 8
    return ((value << (nbytes * 8 - nbits)).to_bytes(nbytes, "big"), nbits)


def _pos3d(d: dict) -> GeoPoint:
    return GeoPoint(d["lat"], d["long"], d.get("elevation"))


def _pos3d_out(p: GeoPoint) -> dict:
    out: dict[str, Any] = {"lat": p.lat_e7, "long": p.lon_e7}
    if p.elevation_dm is not None:
        out["elevation"] = p.elevation_dm
    return out


def _offset(d: dict, ref: GeoPoint) -> GeoPoint:
    name, ll = d["offsetLL"]
    if name == "position-LatLon":
        lat, lon = ll["lat"], ll["lon"]
    else:
        lat, lon = ref.lat_e7 + ll["lat"], ref.lon_e7 + ll["lon"]
    elevation = None
    if "offsetV" in d:
        vname, v = d["offsetV"]
        if vname == "elevation":
            elevation = v
        elif ref.elevation_dm is not None:
            elevation = ref.elevation_dm + v
    return GeoPoint(lat, lon, elevation)


def _offset_out(p: GeoPoint, ref: GeoPoint) -> dict:
    dlat, dlon = p.lat_e7 - ref.lat_e7, p.lon_e7 - ref.lon_e7
    ll: tuple[str, dict] = ("position-LatLon", {"lon": p.lon_e7, "lat": p.lat_e7})
    for name, bits in _OFFSET_LL:
        lim = 1 << (bits - 1)
        if -lim <= dlat < lim and -lim <= dlon < lim:
            ll = (name, {"lon": dlon, "lat": dlat})
            break
    out: dict[str, Any] = {"offsetLL": ll}
    if p.elevation_dm is not None:
        if ref.elevation_dm is None:
            out["offsetV"] = ("elevation", p.elevation_dm)
        else:
            dv = p.elevation_dm - ref.elevation_dm
            out["offsetV"] = ("elevation", p.elevation_dm)
            for name, bits in _OFFSET_V:
                lim = 1 << (bits - 1)
                if -lim < dv < lim:  # the most negative value means "unavailable"
                    out["offsetV"] = (name, dv)
                    break
    return out


def _node_ref(d: dict) -> NodeRef:
    return NodeRef(d.get("region"), d["id"])


def _node_ref_out(r: NodeRef) -> dict:
    return {"id": r.node_id} if r.region is None else {"region": r.region, "id": r.node_id}


def _opt(out: dict, key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _description(d: dict) -> str | None:
    if "description" not in d:
        return None
    name, value = d["description"]
    if name == "textString":
        return value
    return value.decode("gb2312", errors="replace")


def _description_out(text: str) -> tuple[str, Any]:
    if text.isascii():
        return ("textString", text)
    return ("textGB2312", text.encode("gb2312", errors="replace"))


def _priority(d: dict) -> int | None:
    return d["priority"][0] >> 5 if "priority" in d else None


def _time_details(d: dict) -> tuple[int | None, int | None]:
    t = d.get("timeDetails", {})
    return t.get("startTime"), t.get("endTime")


def _time_details_out(out: dict, start: int | None, end: int | None) -> None:
    if start is None and end is None:
        return
    t: dict[str, int] = {}
    _opt(t, "startTime", start)
    _opt(t, "endTime", end)
    out["timeDetails"] = t


def _paths(d: dict, ref: GeoPoint) -> tuple[ReferencePath, ...]:
    return tuple(ReferencePath(tuple(_offset(p, ref) for p in rp["activePath"]), rp["pathRadius"])
                 for rp in d.get("referencePaths", ()))


def _paths_out(out: dict, paths: tuple[ReferencePath, ...], ref: GeoPoint) -> None:
    if paths:
        out["referencePaths"] = [{"activePath": [_offset_out(p, ref) for p in rp.points],
                                  "pathRadius": rp.radius_dm} for rp in paths]


def _speed_limits(d: dict) -> tuple[SpeedLimit, ...]:
    return tuple(SpeedLimit(s["type"], s["speed"]) for s in d.get("speedLimits", ()))


def _speed_limits_out(out: dict, limits: tuple[SpeedLimit, ...]) -> None:
    if limits:
        out["speedLimits"] = [{"type": s.limit_type, "speed": s.speed_raw} for s in limits]


def _points(d: dict, ref: GeoPoint) -> tuple[GeoPoint, ...]:
    return tuple(_offset(p["posOffset"], ref) for p in d.get("points", ()))


def _points_out(out: dict, points: tuple[GeoPoint, ...], ref: GeoPoint) -> None:
    if points:
        out["points"] = [{"posOffset": _offset_out(p, ref)} for p in points]


# ------------------------------------------------------------------------------ BSM

def _bsm(d: dict) -> Bsm:
    emg = d.get("emergencyExt", {})
    return Bsm(msg_count=d["msgCnt"], vehicle_id=d["id"], sec_mark_ms=d["secMark"], position=_pos3d(d["pos"]),
               speed_raw=d["speed"], heading_raw=d["heading"], width_cm=d["size"]["width"],
               length_cm=d["size"]["length"], height_5cm=d["size"].get("height"),
               vehicle_class=d["vehicleClass"]["classification"], transmission=d["transmission"],
               response_type=emg.get("responseType"), siren_use=emg.get("sirenUse"),
               lights_use=emg.get("lightsUse"),
               accel_raw=tuple(d["accelSet"][k] for k in ("long", "lat", "vert", "yaw")))


def _bsm_out(m: Bsm) -> dict:
    size: dict[str, int] = {"width": m.width_cm, "length": m.length_cm}
    _opt(size, "height", m.height_5cm)
    out = {"msgCnt": m.msg_count, "id": m.vehicle_id, "secMark": m.sec_mark_ms, "pos": _pos3d_out(m.position),
           "transmission": m.transmission, "speed": m.speed_raw, "heading": m.heading_raw,
           "accelSet": dict(zip(("long", "lat", "vert", "yaw"), m.accel_raw, strict=True)), "brakes": {}, "size": size,
           "vehicleClass": {"classification": m.vehicle_class}}
    if m.emergency_ext_present:
        emg: dict[str, str] = {}
        _opt(emg, "responseType", m.response_type)
        _opt(emg, "sirenUse", m.siren_use)
        _opt(emg, "lightsUse", m.lights_use)
        out["emergencyExt"] = emg
    return out


# ------------------------------------------------------------------------------ MAP

def _lane(d: dict, ref: GeoPoint) -> MapLane:
    lane_type, type_bits = None, 0
    if "laneAttributes" in d:
        lane_type, bits = d["laneAttributes"]["laneType"]
        type_bits = bits_to_int(bits) if isinstance(bits, tuple) else 0
    conns = tuple(Connection(_node_ref(c["remoteIntersection"]),
                             c["connectingLane"]["lane"] if "connectingLane" in c else None,
                             bits_to_int(c["connectingLane"]["maneuver"])
                             if "maneuver" in c.get("connectingLane", {}) else None,
                             c.get("phaseId")) for c in d.get("connectsTo", ()))
    return MapLane(lane_id=d["laneID"], lane_type=lane_type, lane_type_bits=type_bits, width_cm=d.get("laneWidth"),
                   maneuver_bits=bits_to_int(d["maneuvers"]) if "maneuvers" in d else None, connections=conns,
                   speed_limits=_speed_limits(d), points=_points(d, ref))


def _lane_out(lane: MapLane, ref: GeoPoint) -> dict:
    out: dict[str, Any] = {"laneID": lane.lane_id}
    _opt(out, "laneWidth", lane.width_cm)
    if lane.lane_type is not None:
        nbits = _LANE_TYPE_BITS[lane.lane_type]
        out["laneAttributes"] = {"laneType": (lane.lane_type, int_to_bits(lane.lane_type_bits, nbits))}
    if lane.maneuver_bits is not None:
        out["maneuvers"] = int_to_bits(lane.maneuver_bits, 12)
    if lane.connections:
        conns = []
        for c in lane.connections:
            co: dict[str, Any] = {"remoteIntersection": _node_ref_out(c.remote)}
            if c.connecting_lane is not None:
                cl: dict[str, Any] = {"lane": c.connecting_lane}
                if c.maneuver_bits is not None:
                    cl["maneuver"] = int_to_bits(c.maneuver_bits, 12)
                co["connectingLane"] = cl
            _opt(co, "phaseId", c.phase_id)
            conns.append(co)
        out["connectsTo"] = conns
    _speed_limits_out(out, lane.speed_limits)
    _points_out(out, lane.points, ref)
    return out


def _map(d: dict) -> MapData:
    nodes = []
    for n in d["nodes"]:
        ref = _pos3d(n["refPos"])
        links = tuple(MapLink(upstream=_node_ref(lk["upstreamNodeId"]),
                              lanes=tuple(_lane(la, ref) for la in lk["lanes"]), name=lk.get("name"),
                              width_cm=lk.get("linkWidth"), speed_limits=_speed_limits(lk),
                              points=_points(lk, ref),
                              movements=tuple(Movement(_node_ref(mv["remoteIntersection"]), mv.get("phaseId"))
                                              for mv in lk.get("movements", ())))
                      for lk in n.get("inLinks", ()))
        nodes.append(MapNode(_node_ref(n["id"]), ref, links, n.get("name")))
    return MapData(msg_count=d["msgCnt"], nodes=tuple(nodes), moy=d.get("timeStamp"))


def _map_out(m: MapData) -> dict:
    nodes = []
    for n in m.nodes:
        no: dict[str, Any] = {"id": _node_ref_out(n.ref), "refPos": _pos3d_out(n.position)}
        _opt(no, "name", n.name)
        if n.links:
            links = []
            for lk in n.links:
                lo: dict[str, Any] = {"upstreamNodeId": _node_ref_out(lk.upstream),
                                      "lanes": [_lane_out(la, n.position) for la in lk.lanes]}
                _opt(lo, "name", lk.name)
                _opt(lo, "linkWidth", lk.width_cm)
                _speed_limits_out(lo, lk.speed_limits)
                _points_out(lo, lk.points, n.position)
                if lk.movements:
                    mvs = []
                    for mv in lk.movements:
                        mo: dict[str, Any] = {"remoteIntersection": _node_ref_out(mv.remote)}
                        _opt(mo, "phaseId", mv.phase_id)
                        mvs.append(mo)
                    lo["movements"] = mvs
                links.append(lo)
            no["inLinks"] = links
        nodes.append(no)
    out: dict[str, Any] = {"msgCnt": m.msg_count, "nodes": nodes}
    _opt(out, "timeStamp", m.moy)
    return out


# ------------------------------------------------------------------------------ SPAT

_COUNTING_KEYS = ("startTime", "minEndTime", "maxEndTime", "likelyEndTime", "timeConfidence", "nextStartTime",
                  "nextDuration")
_UTC_KEYS = ("startUTCTime", "minEndUTCTime", "maxEndUTCTime", "likelyEndUTCTime", "timeConfidence",
             "nextStartUTCTime", "nextEndUTCTime")


def _phase_step(d: dict) -> PhaseStep:
    light = _LIGHT_NAMES[d["light"]]  # KeyError for an extension value this stack does not know
    if "timing" not in d:
        return PhaseStep(light)
    kind, t = d["timing"]
    keys = _COUNTING_KEYS if kind == "counting" else _UTC_KEYS if kind == "utcTiming" else None
    if keys is None:
        raise ValueError(f"unknown TimeChangeDetails choice {kind!r}")
    vals = [t.get(k) for k in keys]
    return PhaseStep(light, "counting" if kind == "counting" else "utc", *vals)


def _phase_step_out(s: PhaseStep) -> dict:
    out: dict[str, Any] = {"light": _LIGHT_TO_NAME[s.light]}
    if s.timing is not None:
        keys = _COUNTING_KEYS if s.timing == "counting" else _UTC_KEYS
        vals = (s.start, s.min_end, s.max_end, s.likely_end, s.confidence, s.next_start, s.next_end)
        t = {k: v for k, v in zip(keys, vals, strict=True) if v is not None}
        out["timing"] = ("counting" if s.timing == "counting" else "utcTiming", t)
    return out


def _spat(d: dict) -> Spat:
    inters = tuple(IntersectionSignals(ref=_node_ref(i["intersectionId"]), status_bits=bits_to_int(i["status"]),
                                       phases=tuple(Phase(p["id"], tuple(_phase_step(s) for s in p["phaseStates"]))
                                                    for p in i["phases"]),
                                       moy=i.get("moy"), timestamp_ms=i.get("timeStamp"))
                   for i in d["intersections"])
    return Spat(msg_count=d["msgCnt"], intersections=inters, moy=d.get("moy"), timestamp_ms=d.get("timeStamp"),
                name=d.get("name"))


def _spat_out(m: Spat) -> dict:
    inters = []
    for i in m.intersections:
        io: dict[str, Any] = {"intersectionId": _node_ref_out(i.ref), "status": int_to_bits(i.status_bits, 16),
                              "phases": [{"id": p.phase_id, "phaseStates": [_phase_step_out(s) for s in p.steps]}
                                         for p in i.phases]}
        _opt(io, "moy", i.moy)
        _opt(io, "timeStamp", i.timestamp_ms)
        inters.append(io)
    out: dict[str, Any] = {"msgCnt": m.msg_count, "intersections": inters}
    _opt(out, "moy", m.moy)
    _opt(out, "timeStamp", m.timestamp_ms)
    _opt(out, "name", m.name)
    return out


# ------------------------------------------------------------------------------ RSI

def _rsi(d: dict) -> Rsi:
    ref = _pos3d(d["refPos"])
    events = []
    for e in d.get("rtes", ()):
        start, end = _time_details(e)
        events.append(RoadEvent(rte_id=e["rteId"], event_type=e["eventType"], source=e["eventSource"],
                                position=_offset(e["eventPos"], ref) if "eventPos" in e else None,
                                radius_dm=e.get("eventRadius"), description=_description(e), start_moy=start,
                                end_moy=end, priority=_priority(e), paths=_paths(e, ref),
                                confidence=e.get("eventConfidence")))
    signs = []
    for s in d.get("rtss", ()):
        start, end = _time_details(s)
        signs.append(RoadSign(rts_id=s["rtsId"], sign_type=s["signType"],
                              position=_offset(s["signPos"], ref) if "signPos" in s else None,
                              description=_description(s), start_moy=start, end_moy=end, priority=_priority(s),
                              paths=_paths(s, ref)))
    return Rsi(msg_count=d["msgCnt"], rsu_id=d["id"], position=ref, events=tuple(events), signs=tuple(signs),
               moy=d.get("moy"))


def _rsi_out(m: Rsi) -> dict:
    ref = m.position
    out: dict[str, Any] = {"msgCnt": m.msg_count, "id": m.rsu_id, "refPos": _pos3d_out(ref)}
    _opt(out, "moy", m.moy)
    rtes = []
    for e in m.events:
        eo: dict[str, Any] = {"rteId": e.rte_id, "eventType": e.event_type, "eventSource": e.source}
        if e.position is not None:
            eo["eventPos"] = _offset_out(e.position, ref)
        _opt(eo, "eventRadius", e.radius_dm)
        if e.description is not None:
            eo["description"] = _description_out(e.description)
        _time_details_out(eo, e.start_moy, e.end_moy)
        if e.priority is not None:
            eo["priority"] = bytes([(e.priority & 7) << 5])
        _paths_out(eo, e.paths, ref)
        _opt(eo, "eventConfidence", e.confidence)
        rtes.append(eo)
    if rtes:
        out["rtes"] = rtes
    rtss = []
    for s in m.signs:
        so: dict[str, Any] = {"rtsId": s.rts_id, "signType": s.sign_type}
        if s.position is not None:
            so["signPos"] = _offset_out(s.position, ref)
        if s.description is not None:
            so["description"] = _description_out(s.description)
        _time_details_out(so, s.start_moy, s.end_moy)
        if s.priority is not None:
            so["priority"] = bytes([(s.priority & 7) << 5])
        _paths_out(so, s.paths, ref)
        rtss.append(so)
    if rtss:
        out["rtss"] = rtss
    return out


# ------------------------------------------------------------------------------ RSM

def _rsm(d: dict) -> Rsm:
    ref = _pos3d(d["refPos"])
    parts = tuple(Participant(ptc_type=p["ptcType"], ptc_id=p["ptcId"], source=p["source"],
                              sec_mark_ms=p["secMark"], position=_offset(p["pos"], ref), speed_raw=p["speed"],
                              heading_raw=p["heading"], width_cm=p["size"]["width"], length_cm=p["size"]["length"],
                              pos_confidence=p["posConfidence"]["pos"], height_5cm=p["size"].get("height"),
                              vehicle_class=p["vehicleClass"]["classification"] if "vehicleClass" in p else None,
                              vehicle_id=p.get("id"))
                  for p in d["participants"])
    return Rsm(msg_count=d["msgCnt"], rsu_id=d["id"], position=ref, participants=parts)


def _rsm_out(m: Rsm) -> dict:
    parts = []
    for p in m.participants:
        size: dict[str, int] = {"width": p.width_cm, "length": p.length_cm}
        _opt(size, "height", p.height_5cm)
        po: dict[str, Any] = {"ptcType": p.ptc_type, "ptcId": p.ptc_id, "source": p.source,
                              "secMark": p.sec_mark_ms, "pos": _offset_out(p.position, m.position),
                              "posConfidence": {"pos": p.pos_confidence}, "speed": p.speed_raw,
                              "heading": p.heading_raw, "size": size}
        _opt(po, "id", p.vehicle_id)
        if p.vehicle_class is not None:
            po["vehicleClass"] = {"classification": p.vehicle_class}
        parts.append(po)
    return {"msgCnt": m.msg_count, "id": m.rsu_id, "refPos": _pos3d_out(m.position), "participants": parts}


# ------------------------------------------------------------------------------ frame

_DECODERS = {"bsmFrame": _bsm, "mapFrame": _map, "spatFrame": _spat, "rsiFrame": _rsi, "rsmFrame": _rsm}
_ENCODERS = {Bsm: ("bsmFrame", _bsm_out), MapData: ("mapFrame", _map_out), Spat: ("spatFrame", _spat_out),
             Rsi: ("rsiFrame", _rsi_out), Rsm: ("rsmFrame", _rsm_out)}


class UnsupportedMessage(ValueError):
    """A MessageFrame alternative this profile does not map (an extension added after 2020)."""


def to_message(value: Any) -> V2xMessage:
    """Decoded MessageFrame value -> message dataclass."""
    name, body = value
    decoder = _DECODERS.get(name)
    if decoder is None:
        raise UnsupportedMessage(f"MessageFrame alternative {name!r} is not supported")
    return decoder(body)


# MessageFrame's root alternatives in ASN.1 order: UPER writes the extension bit, then a 3-bit index
_FRAME_KINDS = (MessageKind.BSM, MessageKind.MAP, MessageKind.RSM, MessageKind.SPAT, MessageKind.RSI)


def frame_kind(data: bytes) -> MessageKind | None:
    """The message type of a UPER MessageFrame from its first 4 bits, without decoding: None for an
    extension alternative (a later version's message); ValueError for an index no alternative has."""
    if not data:
        raise ValueError("empty datagram")
    if data[0] & 0x80:  # extension: a 6-bit index (a leading 1 = index >= 64: none exists), an open type
        if data[0] & 0x40 or len(data) < 2:
            raise ValueError("MessageFrame extension index out of range or truncated")
        if data[1] < 0x80:
            start, length = 2, data[1]
        elif data[1] < 0xC0 and len(data) >= 3:
            start, length = 3, ((data[1] & 0x3F) << 8) | data[2]
        else:
            raise ValueError("MessageFrame extension with a fragmented or truncated length")
        if len(data) < start + length:
            raise ValueError(f"MessageFrame extension of {length} bytes in a datagram of {len(data)}")
        return None
    index = (data[0] >> 4) & 0x07
    if index >= len(_FRAME_KINDS):
        raise ValueError(f"MessageFrame choice index {index}, only 0..{len(_FRAME_KINDS) - 1} exist")
    return _FRAME_KINDS[index]


def from_message(message: V2xMessage) -> tuple[str, dict]:
    """Message dataclass -> MessageFrame value for asn1tools."""
    name, encoder = _ENCODERS[type(message)]
    return (name, encoder(message))
