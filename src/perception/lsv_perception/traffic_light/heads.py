"""The traffic-light heads of a Lanelet2 map, where the classifier looks for lit lamps (no rclpy).

Every ``traffic_light`` regulatory element gives one ``LightHead``: its V2X identity
(``lsv:intersection_id``, ``lsv:phase_id`` tags, 0 when untagged), the lanelets that reference
it (they end at its stop line), and the lamp positions of its ``light_bulbs`` linestring (points
tagged ``color`` = red / yellow / green). Map frame: the map's ``LocalCartesianProjector`` at
the given origin (x east, y north, z up), the same frame as the planner's and the localizer's.

The head faces its ``traffic_light`` linestring turned +90 deg (the convention of the
district map, ``lsv_sim.mapgen``): the linestring runs from the approaching vehicle's right to
its left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsv_common.share import resolve_package_url

LAMP_COLOURS = ("red", "yellow", "green")


class LightMapError(RuntimeError):
    """The map file is missing or unreadable, or has no traffic light the classifier can use."""


@dataclass(frozen=True)
class LightHead:
    regelem_id: int  # traffic_light regulatory element id
    intersection_id: int  # V2X intersection id (0: untagged)
    phase_id: int  # V2X signal group (0: untagged)
    lanelet_ids: tuple[int, ...]  # lanelets that stop at this light
    facing_yaw: float  # rad, the direction the lamps shine (towards approaching vehicles)
    bulbs: dict[str, np.ndarray]  # 'red' | 'yellow' | 'green' -> (3,) float64 lamp centre, m


@dataclass(frozen=True)
class LightMap:
    """The heads, and the road's height for a localizer that does not estimate it."""

    heads: list[LightHead]
    road_xyz: np.ndarray  # (N, 3) float64 points of the road lanelets' centre lines, m

    def road_height(self, x: float, y: float) -> float:
        """Height (m) of the road centre-line point nearest to (x, y): the vehicle's height where
        the pose gives none (a 2D localizer). The points are 2.5 m apart or less on the district
        map, so at a 12 % grade the error stays under 0.15 m."""
        d2 = (self.road_xyz[:, 0] - x) ** 2 + (self.road_xyz[:, 1] - y) ** 2
        return float(self.road_xyz[int(np.argmin(d2)), 2])


def load_light_heads(path: str | Path, origin_lat_deg: float, origin_lon_deg: float,
                     origin_alt_m: float = 0.0) -> list[LightHead]:
    """The heads of an OSM Lanelet2 map (``package://`` URLs resolved), sorted by regulatory
    element id. Raises ``LightMapError`` (file missing, Lanelet2 errors, no usable head)."""
    return load_light_map(path, origin_lat_deg, origin_lon_deg, origin_alt_m).heads


def load_light_map(path: str | Path, origin_lat_deg: float, origin_lon_deg: float,
                   origin_alt_m: float = 0.0) -> LightMap:
    """``load_light_heads`` plus the road centre lines' points (``LightMap``)."""
    import lanelet2
    from lanelet2.io import Origin
    from lanelet2.projection import LocalCartesianProjector

    osm, looked = resolve_package_url(str(path))
    if osm is None or not osm.is_file():
        where = ", ".join(map(str, looked)) or str(osm)
        raise LightMapError(f"map '{path}' not found (looked in {where}) (parameter map_path)")
    lmap, errors = lanelet2.io.loadRobust(str(osm), LocalCartesianProjector(Origin(origin_lat_deg, origin_lon_deg,
                                                                                     origin_alt_m)))
    if errors:
        raise LightMapError(f"{osm}: Lanelet2 reported {len(errors)} errors, first: {errors[0]}")
    users: dict[int, list[int]] = {}
    for ll in lmap.laneletLayer:
        for re in ll.regulatoryElements:
            users.setdefault(re.id, []).append(ll.id)
    heads = []
    for re in lmap.regulatoryElementLayer:
        attrs = re.attributes
        if "subtype" not in attrs or attrs["subtype"] != "traffic_light" or not re.trafficLights:
            continue
        bulbs = {p.attributes["color"]: np.array([p.x, p.y, p.z]) for ls in _light_bulbs(re) for p in ls
                 if "color" in p.attributes and p.attributes["color"] in LAMP_COLOURS}
        if not bulbs:
            continue  # a light without lamp positions: nothing to look at
        line = re.trafficLights[0]
        across = np.array([line[-1].x - line[0].x, line[-1].y - line[0].y])
        heads.append(LightHead(re.id, int(attrs["lsv:intersection_id"]) if "lsv:intersection_id" in attrs else 0,
                               int(attrs["lsv:phase_id"]) if "lsv:phase_id" in attrs else 0,
                               tuple(sorted(users.get(re.id, []))), math.atan2(across[0], -across[1]), bulbs))
    if not heads:
        raise LightMapError(f"{osm}: no traffic_light regulatory element with light_bulbs (lamp positions)")
    road = [[p.x, p.y, p.z] for ll in lmap.laneletLayer
            if "subtype" in ll.attributes and ll.attributes["subtype"] == "road" for p in ll.centerline]
    if not road:
        raise LightMapError(f"{osm}: no road lanelets (subtype=road) to take the vehicle's height from")
    return LightMap(sorted(heads, key=lambda h: h.regelem_id), np.asarray(road, np.float64))


def _light_bulbs(re) -> list:
    params = re.parameters
    return list(params["light_bulbs"]) if "light_bulbs" in params else []
