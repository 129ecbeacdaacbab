"""What the stack perceived, judged against ground truth (pure numpy; no ROS).

The simulator node records two things in simulated time (``PerceptionRecord``): the objects the
stack's tracker published on /perception/objects (map-frame centres, track ids, source masks),
and, at every lidar scan, how many returns of the ego's lidar fell on each actor
(``lsv_sim.visibility``). ``detection(...)`` turns them into, per actor:

- ``first_visible_s``: the first scan with ``VISIBLE_MIN_RETURNS`` returns on it (part of it in
  the lidar's sight; a ray or two grazing an edge 60 m away is not a sight of it);
- ``first_detectable_s``: the first scan with at least ``DETECTABLE_MIN_RETURNS`` returns on it
  (enough for the lidar_detector to make an object of: it drops clusters under 5 points after its
  ground and voxel filters, which take the lowest and merge the nearest returns);
- ``first_perceived_s``: the stamp of the first tracker output with an object associated to it:
  its class in the actor's group (``CLASS_GROUPS``: a vulnerable road user, a vehicle; unknown
  matches both), its centre within ``ASSOCIATION_M`` of the actor's footprint at that time, and
  that actor the nearest such (a track the classifier calls a car or a truck next to a pedestrian
  is the parked car's, not the pedestrian's);
- ``first_perceived_without_v2x_s``: the same, counting only objects whose source mask lacks
  the V2X bit (a track the road-side unit's RSM started may exist before the actor is visible;
  one the lidar or the camera started may not);
- ``delay_s``: first perceived minus first detectable, and the sources of the first perceived
  object.

No perception but V2X can come before ``first_visible_s`` (nothing sees through a parked car);
the detection delay is counted from ``first_detectable_s``: a cyclist 58 m ahead puts 6 returns
on the scan, which no detector makes an object of.

``summary`` makes the ``detection`` object of summary.json, ``checks`` the pass criteria
``detected_within_s`` / ``perceived_before_visible_s``, ``table_rows`` the console rows.

Stamps, not arrival times, are compared: both records are taken at the lidar's scan times, and
the tracker stamps its output with the scan it comes from (arrival times depend on the machine's
load and stay out of summary.json).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lsv_sim.scenario import Scenario

VISIBLE_MIN_RETURNS = 3  # returns on an actor in one scan: part of it in the lidar's sight (1-2: rays grazing an edge)
DETECTABLE_MIN_RETURNS = 10  # returns in one scan a detector needs (lidar_detector: 5 points after its filters)
ASSOCIATION_M = 1.5  # m; a perceived centre this close to an actor's footprint (and nearest to it) is that actor
EARLY_TOLERANCE_S = 0.2  # s; perceived (not from V2X) earlier than first visible minus this: seen through something
# lsv_msgs/DetectedObject SOURCE_* values (the bits of TrackedObject.source_mask; no rclpy import here)
SOURCES = {1: "camera", 2: "lidar", 3: "fusion", 4: "v2x"}
V2X_BIT = 1 << 4
# lsv_msgs/DetectedObject CLASS_* -> group: 1 vulnerable road users (cyclist, motorcycle, pedestrian, animal: the
# planner treats them alike), 2 vehicles and static obstacles; unknown (0) and others: any
CLASS_GROUPS = {4: 1, 5: 1, 6: 1, 7: 1, 1: 2, 2: 2, 3: 2, 8: 2, 9: 2}
# columns of a recorded perceived object (map frame)
COLUMNS = ("id", "x", "y", "source_mask", "class", "vx", "vy", "yaw", "length", "width")
COL_ID, COL_X, COL_Y, COL_MASK, COL_CLASS, COL_VX, COL_VY, COL_YAW, COL_LENGTH, COL_WIDTH = range(len(COLUMNS))


@dataclass(frozen=True)
class Perceived:
    """One tracker output: stamp and arrival (s of simulated time), objects (M, len(COLUMNS))
    float64: id, x, y (m), source_mask, classification, vx, vy (m/s), yaw (rad), length, width (m)."""

    t_s: float
    arrival_s: float
    objects: np.ndarray


class PerceptionRecord:
    """The perceived objects and the lidar visibility of a run, in simulated time (the node fills
    it from two threads under its own lock; this class takes no lock)."""

    def __init__(self) -> None:
        self.perceived: list[Perceived] = []
        self.visibility_t: list[float] = []
        self.visibility: list[np.ndarray] = []  # (K,) int64 returns per actor, scenario order

    @property
    def has_visibility(self) -> bool:
        return bool(self.visibility_t)

    def add_perceived(self, t_s: float, arrival_s: float, objects: np.ndarray) -> None:
        rows = np.asarray(objects, dtype=np.float64)
        rows = rows.reshape(-1, rows.shape[1] if rows.ndim == 2 else len(COLUMNS))
        if rows.shape[1] < len(COLUMNS):  # id, x, y, mask, class only: no motion or size known
            rows = np.hstack([rows, np.zeros((len(rows), len(COLUMNS) - rows.shape[1]))])
        self.perceived.append(Perceived(float(t_s), float(arrival_s), rows))

    def add_visibility(self, t_s: float, returns: np.ndarray) -> None:
        self.visibility_t.append(float(t_s))
        self.visibility.append(np.asarray(returns, dtype=np.int64).copy())

    def visibility_array(self, n_actors: int) -> tuple[np.ndarray, np.ndarray]:
        """(L,) times, (L, K) returns."""
        if not self.visibility_t:
            return np.zeros(0), np.zeros((0, n_actors), np.int64)
        returns = np.asarray(self.visibility, np.int64).reshape(len(self.visibility_t), n_actors)
        return np.asarray(self.visibility_t), returns

    def to_json(self, actor_ids: Sequence[str]) -> dict[str, Any]:
        """The whole record (``perception.json`` next to summary.json: arrival times depend on the
        machine, so it stays out of summary.json): lidar returns per actor per scan, and every
        tracker output with its objects as rows of ``COLUMNS``."""
        tv, returns = self.visibility_array(len(actor_ids))
        return {"visibility": {"t_s": [round(float(v), 3) for v in tv],
                               "returns": {aid: returns[:, j].tolist() for j, aid in enumerate(actor_ids)}},
                "columns": list(COLUMNS),
                "perceived": [{"t_s": round(m.t_s, 3), "arrival_s": round(m.arrival_s, 3),
                               "objects": [[int(o[COL_ID]), *(round(float(v), 2) for v in o[COL_X:COL_MASK]),
                                            int(o[COL_MASK]), int(o[COL_CLASS]),
                                            *(round(float(v), 2) for v in o[COL_VX:])] for o in m.objects]}
                              for m in self.perceived]}


def point_box_distance(points: np.ndarray, x: float, y: float, yaw: float, length: float, width: float) -> np.ndarray:
    """(M,) distances from points (M, 2) to an oriented rectangle's area (0 inside)."""
    c, s = np.cos(yaw), np.sin(yaw)
    dx, dy = points[:, 0] - x, points[:, 1] - y
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    return np.hypot(np.maximum(np.abs(lx) - 0.5 * length, 0.0), np.maximum(np.abs(ly) - 0.5 * width, 0.0))


def source_names(mask: int) -> list[str]:
    return [name for bit, name in SOURCES.items() if mask & (1 << bit)]


def _r(v: float | None, nd: int = 3) -> float | None:
    return None if v is None else round(float(v), nd) + 0.0


def compatible(object_classes: np.ndarray, actor_class: int) -> np.ndarray:
    """(M,) bool: perceived classes that can be this actor: the same ``CLASS_GROUPS`` group, or
    unknown (0) either way."""
    group = CLASS_GROUPS.get(int(actor_class), 0)
    if group == 0:
        return np.ones(len(object_classes), bool)
    groups = np.array([CLASS_GROUPS.get(int(c), 0) for c in object_classes], np.int64)
    return (groups == group) | (groups == 0)


def associate(objects: np.ndarray, actors_xyyaw: np.ndarray, sizes: Sequence[tuple[float, float]],
              actor_classes: Sequence[int], radius_m: float = ASSOCIATION_M) -> np.ndarray:
    """(M,) index of the actor each perceived object (M, >= 5) is, or -1: of the actors its class is
    ``compatible`` with, the one whose footprint is nearest to its centre, if within ``radius_m``.
    ``actors_xyyaw`` (K, >= 3), ``actor_classes`` (K,) lsv_msgs CLASS_* of each actor. The class
    keeps the slivers of a parked van's side (tracks the classifier calls car, truck or emergency
    vehicle, drifting into the gap next to the van) from counting as the pedestrian stepping out."""
    m = len(objects)
    if m == 0 or len(sizes) == 0:
        return np.full(m, -1, np.int64)
    pts = objects[:, [COL_X, COL_Y]]
    d = np.stack([np.where(compatible(objects[:, COL_CLASS], c), point_box_distance(pts, a[0], a[1], a[2], ln, w),
                           np.inf)
                  for a, (ln, w), c in zip(actors_xyyaw, sizes, actor_classes, strict=True)], axis=1)
    best = np.argmin(d, axis=1)
    return np.where(d[np.arange(m), best] <= radius_m, best, -1)


def detection(actor_ids: Sequence[str], sizes: Sequence[tuple[float, float]], t: np.ndarray, actors: np.ndarray,
              record: PerceptionRecord, classes: Sequence[int] | None = None,
              radius_m: float = ASSOCIATION_M) -> dict[str, dict[str, Any]]:
    """Per actor id: first visible / detectable / perceived times (see the module docstring). ``t``
    (T,) and ``actors`` (T, K, 4: x, y, yaw, speed) are the ground-truth trace; ``classes`` the
    actors' lsv_msgs CLASS_* (None: any perceived class matches any actor)."""
    k_n = len(actor_ids)
    tv, returns = record.visibility_array(k_n)
    first_seen: list[dict[str, Any] | None] = [None] * k_n
    first_own: list[float | None] = [None] * k_n
    classes = [0] * k_n if classes is None else list(classes)
    for msg in sorted(record.perceived, key=lambda m: m.t_s):  # by stamp: a late message may arrive after a newer
        if len(msg.objects) == 0 or len(t) == 0:
            continue
        k = min(int(np.searchsorted(t, msg.t_s - 1e-9)), len(t) - 1)
        who = associate(msg.objects, actors[k], sizes, classes, radius_m)
        for j in np.unique(who[who >= 0]):
            rows = msg.objects[who == j]
            masks = rows[:, COL_MASK].astype(np.int64)
            if first_seen[j] is None:
                mask = int(np.bitwise_or.reduce(masks))
                first_seen[j] = {"t_s": msg.t_s, "sources": source_names(mask),
                                 "track_ids": sorted(int(i) for i in rows[:, COL_ID])}
            if first_own[j] is None and np.any((masks & V2X_BIT) == 0):
                first_own[j] = msg.t_s
    out: dict[str, dict[str, Any]] = {}
    for j, aid in enumerate(actor_ids):
        col = returns[:, j] if len(tv) else np.zeros(0, np.int64)
        seen = np.flatnonzero(col >= VISIBLE_MIN_RETURNS)
        enough = np.flatnonzero(col >= DETECTABLE_MIN_RETURNS)
        tdet = float(tv[enough[0]]) if len(enough) else None
        fp = first_seen[j]
        tper = fp["t_s"] if fp else None
        out[aid] = {
            "first_visible_s": _r(float(tv[seen[0]])) if len(seen) else None,
            "first_detectable_s": _r(tdet),
            "max_returns": int(col.max()) if len(col) else None,
            "first_perceived_s": _r(tper),
            "first_perceived_sources": fp["sources"] if fp else None,
            "first_perceived_track_ids": fp["track_ids"] if fp else None,
            "first_perceived_without_v2x_s": _r(first_own[j]),
            "delay_s": _r(tper - tdet) if tper is not None and tdet is not None else None,
        }
    return out


# ------------------------------------------------------------------ summary.json, checks, table

NOT_JUDGED_ORACLE = "not judged in oracle mode"  # --oracle: the stack's perception did not run


def summary(scenario: Scenario, t: np.ndarray, actors: np.ndarray, speed: np.ndarray,
            distance: Mapping[str, np.ndarray], record: PerceptionRecord | None, oracle: bool) -> dict[str, Any]:
    """The ``detection`` object of summary.json: per actor, first visible / first perceived (module
    docstring), with the ego's speed and footprint distance to it (``distance``: actor id -> (T,))
    when it became visible. ``judged`` is true, or says why the perception checks cannot be judged."""
    if oracle:
        judged: bool | str = NOT_JUDGED_ORACLE
    elif record is None:
        judged = "not judged: the perceived objects were not recorded"
    elif not record.has_visibility:
        judged = "not judged: no lidar visibility recorded (simulated lidar off)"
    else:
        judged = True
    out: dict[str, Any] = {"judged": judged, "visible_min_returns": VISIBLE_MIN_RETURNS,
                           "detectable_min_returns": DETECTABLE_MIN_RETURNS,
                           "association_m": ASSOCIATION_M, "early_tolerance_s": EARLY_TOLERANCE_S,
                           "scans": len(record.visibility_t) if record else 0,
                           "perceived_messages": len(record.perceived) if record else 0, "actors": {}}
    if record is None:
        return out
    per = detection([a.actor_id for a in scenario.actors], [(a.length_m, a.width_m) for a in scenario.actors],
                    t, actors, record, [a.classification for a in scenario.actors])
    for a in scenario.actors:
        row = {"type": a.type.value, **per[a.actor_id]}
        tv = row["first_visible_s"]
        k = None if tv is None or not len(t) else min(int(np.searchsorted(t, tv - 1e-9)), len(t) - 1)
        row["ego_speed_at_visible_mps"] = None if k is None else _r(speed[k])
        row["distance_at_visible_m"] = None if k is None else _r(distance[a.actor_id][k])
        out["actors"][a.actor_id] = row
    return out


def checks(scenario: Scenario, det: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The checks of ``pass.detected_within_s`` (per actor: ``detected_within_s.<id>``, perceived at
    most that long after first detectable, and ``not_perceived_before_visible.<id>``, nothing but
    V2X earlier than first visible minus ``EARLY_TOLERANCE_S``) and of ``pass.perceived_before_visible_s``
    (``perceived_before_visible_s.<id>``: perceived at least that long before first visible, the first
    object from V2X; plus ``not_perceived_before_visible``). With --oracle they pass with the value
    "not judged in oracle mode"; without a record of the stack's perception they fail."""
    pc = scenario.pass_criteria
    out: list[dict[str, Any]] = []

    def add(name: str, passed: bool, value: Any, limit: Any) -> None:
        out.append({"name": name, "passed": bool(passed), "value": value, "limit": limit})

    judged = det["judged"]
    early_ids = list(dict.fromkeys([*pc.detected_within_s, *pc.perceived_before_visible_s]))
    if judged is not True:
        ok = judged == NOT_JUDGED_ORACLE
        for aid, lim in pc.detected_within_s.items():
            add(f"detected_within_s.{aid}", ok, judged, lim)
        for aid in early_ids:
            add(f"not_perceived_before_visible.{aid}", ok, judged, -EARLY_TOLERANCE_S)
        for aid, lim in pc.perceived_before_visible_s.items():
            add(f"perceived_before_visible_s.{aid}", ok, judged, lim)
        return out
    rows = det["actors"]
    for aid, lim in pc.detected_within_s.items():
        delay = rows[aid]["delay_s"]  # None: never detectable or never perceived
        add(f"detected_within_s.{aid}", delay is not None and delay <= lim, delay, lim)
    for aid in early_ids:
        r = rows[aid]
        own, tv = r["first_perceived_without_v2x_s"], r["first_visible_s"]
        lead = None if own is None else _r(own - tv) if tv is not None else "never visible"
        ok = own is None or (tv is not None and own >= tv - EARLY_TOLERANCE_S - 1e-6)  # 1e-6: rounded times
        add(f"not_perceived_before_visible.{aid}", ok, lead, -EARLY_TOLERANCE_S)
    for aid, lim in pc.perceived_before_visible_s.items():
        r = rows[aid]
        tp, tv = r["first_perceived_s"], r["first_visible_s"]
        from_v2x = "v2x" in (r["first_perceived_sources"] or [])
        ahead = None if tp is None else "never visible" if tv is None else _r(tv - tp)
        add(f"perceived_before_visible_s.{aid}", tp is not None and from_v2x and (tv is None or tv - tp >= lim - 1e-6),
            ahead, lim)
    return out


def table_rows(det: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """Summary table rows: first visible / detectable / perceived of every actor but the parked cars."""
    if not det or not det["actors"]:
        return []
    if det["judged"] is not True:
        return [("visible / detectable / perceived", "-", str(det["judged"]))]

    def s(v: float | None) -> str:
        return "never" if v is None else f"{v:.1f} s"

    rows = []
    for aid, r in det["actors"].items():
        if r["type"] == "parked_car":
            continue
        note = "" if r["delay_s"] is None else f"{r['delay_s']:+.2f} s after detectable"
        if r["first_perceived_sources"]:
            note += (", " if note else "") + "from " + "+".join(r["first_perceived_sources"])
        if r["ego_speed_at_visible_mps"] is not None:
            note += f"; ego {r['ego_speed_at_visible_mps']:.1f} m/s, {r['distance_at_visible_m']:.1f} m away then"
        rows.append((f"visible / detectable / perceived {aid}",
                     f"{s(r['first_visible_s'])} / {s(r['first_detectable_s'])} / {s(r['first_perceived_s'])}", note))
    return rows
