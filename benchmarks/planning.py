"""Planner hot path: one planning cycle (``Planner.plan``) on the district map.

    .venv/bin/python benchmarks/planning.py [--cycles N] [--objects K]

A toy vehicle follows the planned trajectory exactly along the delivery route (depot -> red
light at the west intersection -> parcel drop) and along the patrol loop, with K tracked
objects around it (cars parked and driving, pedestrians, one on a crosswalk), the signals of
both intersections, and V2X hints (a speed-limit zone, a pedestrian, a far emergency vehicle).
Also timed: loading the map and building a route + reference path.

Progress goes to stderr; the last stdout line is one JSON object:
{"name": "planning", "n": ..., "median_ms": ..., "p95_ms": ..., "max_ms": ...,      # Planner.plan per cycle
 "route_build_median_ms": ..., "route_build_p95_ms": ..., "map_load_ms": ..., "objects": K, "points_median": ...}
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from lsv_planning.inputs import (
    CLASS_CAR,
    CLASS_PEDESTRIAN,
    HINT_EMERGENCY_VEHICLE,
    HINT_PEDESTRIAN_CROSSING,
    HINT_SPEED_LIMIT,
    NS,
    STATE_PROTECTED_GREEN,
    STATE_RED,
    Hint,
    PlannerInputs,
    Signal,
    Stamped,
    TrackedObj,
)
from lsv_planning.lanelet_map import load_road_map
from lsv_planning.mission import Goal, GoalKind, load_yaml
from lsv_planning.params import PlannerParams
from lsv_planning.planner import Planner
from lsv_planning.route import Waypoint, reference_path, route_through
from lsv_planning.toy_vehicle import ToyVehicle

ROOT = Path(__file__).resolve().parents[1]
MAP = "package://lsv_sim/maps/district.osm"
ORIGIN = (30.2741, 120.1551)
DT = 0.1  # s, 10 Hz


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def objects_at(t: float, k: int, rng: np.random.Generator) -> tuple[TrackedObj, ...]:
    objs = [TrackedObj(1, CLASS_PEDESTRIAN, -10.0 + 1.2 * (t % 16.0), -9.0, 0.0, 1.2, 0.0, 0.5, 0.5, 0.9)]
    for i in range(1, k):
        x, y = rng.uniform(-150.0, 210.0), rng.choice([-7.0, -5.0, 5.0, 7.0, 251.75, 248.25])
        moving = i % 3 == 0
        cls = CLASS_CAR if i % 2 else CLASS_PEDESTRIAN
        objs.append(TrackedObj(i + 1, cls, x, y, 0.0, 5.0 if moving else 0.0, 0.0,
                               4.2 if cls == CLASS_CAR else 0.5, 1.8 if cls == CLASS_CAR else 0.5, 0.8))
    return tuple(objs)


def drive(planner: Planner, start: tuple[float, float, float], cycles: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    car = ToyVehicle(*start, dt=DT)
    times = np.empty(cycles)
    npts = np.empty(cycles)
    for c in range(cycles):
        t = c * DT
        now = int(t * NS)
        red = (t % 40.0) < 20.0
        sigs = tuple(Signal(iid, ph, STATE_RED if (red ^ (ph % 2 == 1)) else STATE_PROTECTED_GREEN,
                            max_end_ns=int((t + 20.0 - t % 20.0) * NS))
                     for iid in (101, 103) for ph in (1, 2, 3, 4))
        hints = (Hint(HINT_SPEED_LIMIT, 100.0, 0.0, now + NS, radius=20.0, speed_limit_mps=2.5),
                 Hint(HINT_PEDESTRIAN_CROSSING, 0.0, -9.0, now + NS, vx=1.0),
                 Hint(HINT_EMERGENCY_VEHICLE, 400.0, 400.0, now + NS, time_to_path=-1.0))
        inp = PlannerInputs(car.ego(now), Stamped(now, sigs), Stamped(now, hints),
                            Stamped(now, objects_at(t, k, rng)))
        t0 = time.perf_counter_ns()
        pts, _ = planner.plan(now, inp)
        times[c] = (time.perf_counter_ns() - t0) / 1e6
        npts[c] = len(pts)
        car.follow(pts)
    return times, npts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=600, help="planning cycles per run (two runs)")
    ap.add_argument("--objects", type=int, default=20, help="tracked objects per cycle")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rm = load_road_map(MAP, *ORIGIN)
    map_ms = (time.perf_counter() - t0) * 1e3
    log(f"map loaded in {map_ms:.1f} ms")
    params = PlannerParams(map_path=MAP, map_origin_lat_deg=ORIGIN[0], map_origin_lon_deg=ORIGIN[1])

    build = []
    for _ in range(30):
        t0 = time.perf_counter()
        goals = [Waypoint(1.75, 200.0, math.pi / 2), Waypoint(96.3, 248.25, 0.0), Waypoint(198.25, 135.2, -math.pi / 2),
                 Waypoint(107.4, 1.75, math.pi), Waypoint(1.75, 45.0, math.pi / 2)]
        seq, gi = route_through(rm, Waypoint(1.75, 45.0, math.pi / 2), goals)
        path = reference_path(rm, seq, goals, gi)
        build.append((time.perf_counter() - t0) * 1e3)
    log(f"route + reference path of the patrol loop ({path.length:.0f} m): median {np.median(build):.2f} ms")

    delivery = Planner(params, rm, [Goal("parcel-drop", GoalKind.STOP, -1.75, -72.9, -math.pi / 2, dwell_s=5.0)])
    t1, n1 = drive(delivery, (-135.0, -1.75, 0.0), args.cycles, args.objects, 1)
    log(f"delivery: {args.cycles} cycles median {np.median(t1):.2f} ms p95 {np.percentile(t1, 95):.2f} ms, "
        f"final state {delivery.state.value}")
    patrol_goals = [g for g in load_yaml(ROOT / "src/sim/scenarios/patrol_loop.yaml") if g.kind == GoalKind.PATROL]
    patrol = Planner(params, rm, patrol_goals)
    t2, n2 = drive(patrol, (1.75, 45.0, math.pi / 2), args.cycles, args.objects, 2)
    log(f"patrol: {args.cycles} cycles median {np.median(t2):.2f} ms p95 {np.percentile(t2, 95):.2f} ms")
    times = np.concatenate([t1, t2])
    print(json.dumps({
        "name": "planning", "n": len(times), "median_ms": round(float(np.median(times)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3), "max_ms": round(float(times.max()), 3),
        "route_build_median_ms": round(float(np.median(build)), 3),
        "route_build_p95_ms": round(float(np.percentile(build, 95)), 3),
        "map_load_ms": round(map_ms, 1), "objects": args.objects,
        "points_median": int(np.median(np.concatenate([n1, n2]))),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
