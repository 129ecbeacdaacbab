"""Held-out evaluation of perception in the simulator: pedestrians, cars and cyclists within 30 m
are tracked with stable ids.

The simulator's pure core runs in-process (no ROS): a scenario written for this evaluation only
(the district's west intersection, seed 4242: not a shipped scenario, not a place or seed of the
lidar classifier's training set) moves the actors; the ego drives east on the main street and
stops; every 100 ms the simulated lidar (``lsv_sim.sensors.lidar``, with noise and dropout)
scans from the ego's pose; the scan goes through ``LidarPipeline`` (lidar frame), the boxes are
moved to the map frame with the true ego pose, and the tracker core (``MultiObjectTracker`` with
the shipped ``tracker.param.yaml``) tracks them. Camera fusion is not part of this run (rendering
and detecting every frame would cost minutes here).

Per frame (after the first second), confirmed tracks are matched one-to-one to the ground truth
(Hungarian on centre distance, at most 2 m):

- recall = matched truth / truth that the scan saw (at least ``MIN_POINTS`` lidar returns: an
  object hidden behind another cannot be tracked by anyone) within 30 m of the ego; the recall
  over all truth within 30 m, hidden included, is printed too;
- precision = tracks within 30 m classified pedestrian, car or cyclist that match some truth /
  all those tracks (tracks of unknown or static class, poles and bins, are not counted);
- id switches: times the track matched to a truth object differs from the one matched to it
  before (CLEAR-MOT);
- class accuracy: matched tracks whose class is the truth's class.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
TRACKER_PARAMS = ROOT / "src" / "perception" / "config" / "tracker.param.yaml"
MODEL = ROOT / "models" / "point_classifier.onnx"
RANGE_M = 30.0
MATCH_M = 2.0
MIN_POINTS = 10
WARMUP_S = 1.0
SEED = 4242
CLASSES = {"pedestrian": 6, "car": 1, "parked_car": 1, "cyclist": 4}

# the district's west intersection (101) is at (0, 0): main street east-west (lanes y = -1.75 east,
# +1.75 west), the north-south street at x = -+1.75
SCENARIO = {
    "name": "perception_eval_west_intersection",
    "description": "held-out perception evaluation: traffic around the ego at the west intersection",
    "duration_s": 20,
    "seed": SEED,
    "map": {"world": "district"},
    "ego": {"start": {"x": -75.0, "y": -1.75, "yaw_deg": 0.0}},
    "actors": [
        {"id": "ped-west-crossing", "type": "pedestrian", "waypoints": [[-11, -10], [-11, 10]], "speed_mps": 1.3,
         "trigger": {"at_s": 3}},
        {"id": "ped-sidewalk", "type": "pedestrian", "waypoints": [[-8, -6.5], [-70, -6.5]], "speed_mps": 1.4,
         "trigger": {"at_s": 0}},
        {"id": "ped-midblock", "type": "pedestrian", "waypoints": [[-25, -6], [-25, 6]], "speed_mps": 1.0,
         "trigger": {"at_s": 9}},
        {"id": "cyclist-west", "type": "cyclist", "waypoints": [[40, 1.0], [-120, 1.0]], "speed_mps": 4.5,
         "trigger": {"at_s": 2}},
        {"id": "car-west", "type": "car", "waypoints": [[60, 1.75], [-150, 1.75]], "speed_mps": 7.0,
         "trigger": {"at_s": 6}},
        {"id": "car-south", "type": "car", "waypoints": [[-1.75, 60], [-1.75, -80]], "speed_mps": 6.0,
         "trigger": {"at_s": 0}},
        {"id": "parked", "type": "parked_car", "waypoints": [[-45, -4.6]], "yaw_deg": 0},
    ],
}


def ego_pose(t: float) -> tuple[float, float, float, float]:
    """Scripted ego (rear axle): east at 3 m/s from x = -75, stopped at x = -40; (x, y, yaw, speed)."""
    x = min(-75.0 + 3.0 * t, -40.0)
    return x, -1.75, 0.0, 3.0 if x < -40.0 else 0.0


def run_evaluation(duration_s: float = 20.0) -> dict:
    from lsv_can_bridge.chassis_config import load_chassis_config
    from lsv_common.paramfile import load_param_file
    from lsv_common.params import build_params
    from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline
    from lsv_perception.lidar.transform import boxes_to_frame
    from lsv_perception.tracking import Measurements, MultiObjectTracker, TrackerParams
    from lsv_perception.tracking.params import GROUP_OF_CLASS, SOURCE_LIDAR
    from lsv_sim.core import SimParams, Simulator
    from lsv_sim.scenario import make_world, parse_scenario
    from lsv_sim.sensors import Actor, Extrinsics, pose_matrix
    from lsv_sim.sensors.lidar import Lidar, LidarParams, RayCaster
    from lsv_sim.sim_node import ACTOR_CLASSES
    from lsv_sim.world import ObjectClass

    world = make_world(parse_scenario(SCENARIO, "perception eval").map)
    scenario = parse_scenario(SCENARIO, "perception eval", world)
    sim = Simulator(scenario, load_chassis_config("dbc/lsv_chassis.yaml"), world=world,
                    params=SimParams(step_period_ms=20.0))
    lidar = Lidar(LidarParams(), caster=RayCaster.for_world(world))
    t_base_lidar = Extrinsics().matrix("lidar")
    classifier = "onnx" if MODEL.exists() else "geometric"
    pipeline = LidarPipeline(LidarConfig(classifier=classifier, model_path=str(MODEL)))
    tracker = MultiObjectTracker(build_params(TrackerParams, load_param_file(TRACKER_PARAMS)["/**"]))
    rng = np.random.default_rng(SEED)
    steps_per_scan = round(100.0 / sim.p.step_period_ms)
    truth_class = np.array([CLASSES[a.type.value] for a in scenario.actors])
    counts = {"visible": 0, "in_range": 0, "matched_visible": 0, "matched_in_range": 0, "tracks": 0,
              "tracks_matched": 0, "id_switches": 0, "class_ok": 0, "frames": 0}
    per_class = {c: [0, 0] for c in ("pedestrian", "car", "cyclist")}  # visible, matched
    last_id: dict[int, int] = {}
    switches: dict[str, int] = {}
    false_tracks: list[tuple] = []
    errors = []
    step = 0
    while sim.t_s < duration_s:
        sim.step()
        step += 1
        if step % steps_per_scan:
            continue
        t = sim.t_s
        ex, ey, eyaw, _ = ego_pose(t)
        ez = float(np.asarray(world.height_at(np.array([[ex, ey]]))).reshape(-1)[0])
        pitch = math.atan(world.grade_at(ex, ey, eyaw))
        t_map_lidar = pose_matrix(ex, ey, ez, 0.0, -pitch, eyaw) @ t_base_lidar
        gt = sim.ground_truth()
        actors = [Actor(k + 1, int(ObjectClass[ACTOR_CLASSES[a.type.value]]), (a.x_m, a.y_m, a.z_m, a.yaw_rad),
                        (a.length_m, a.width_m, a.height_m)) for k, a in enumerate(gt.actors)]
        scan = lidar.scan(t_map_lidar, actors, rng)
        pts = np.column_stack([scan.points["x"], scan.points["y"], scan.points["z"], scan.points["intensity"]])
        res = pipeline.process(pts.astype(np.float32))
        centers, yaws = boxes_to_frame(t_map_lidar, res.centers, res.yaws)
        tracker.update(round(t * 1e9), Measurements(centers[:, :2], centers[:, 2], res.dimensions, yaws,
                                                    res.class_ids, res.scores, np.full(res.count, SOURCE_LIDAR)))
        if t < WARMUP_S:
            continue
        counts["frames"] += 1
        tracks = tracker.tracks()
        sensor = t_map_lidar[:2, 3]
        truth_xy = np.array([[a.x_m, a.y_m] for a in gt.actors])
        in_range = np.hypot(*(truth_xy - sensor).T) <= RANGE_M
        seen = np.bincount(scan.object_id, minlength=len(gt.actors) + 1)[1:] >= MIN_POINTS
        visible = in_range & seen
        near_tracks = np.hypot(*(tracks.x[:, :2] - sensor).T) <= RANGE_M
        cost = np.hypot(tracks.x[:, None, 0] - truth_xy[None, :, 0], tracks.x[:, None, 1] - truth_xy[None, :, 1])
        rows, cols = linear_sum_assignment(np.where(cost <= MATCH_M, cost, 1e6)) if cost.size else ([], [])
        pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= MATCH_M]
        matched_truth = {c: r for r, c in pairs}
        counts["visible"] += int(visible.sum())
        counts["in_range"] += int(in_range.sum())
        for c in np.flatnonzero(in_range):
            name = {6: "pedestrian", 1: "car", 4: "cyclist"}[int(truth_class[c])]
            if visible[c]:
                per_class[name][0] += 1
            if c in matched_truth:
                counts["matched_in_range"] += 1
                r = matched_truth[c]
                if visible[c]:
                    counts["matched_visible"] += 1
                    per_class[name][1] += 1
                    errors.append(float(cost[r, c]))
                    counts["class_ok"] += int(tracks.class_ids[r] == truth_class[c])
                tid = int(tracks.ids[r])
                if c in last_id and last_id[c] != tid:
                    counts["id_switches"] += 1
                    switches[gt.actors[c].actor_id] = switches.get(gt.actors[c].actor_id, 0) + 1
                last_id[c] = tid
        of_interest = near_tracks & np.isin(GROUP_OF_CLASS[tracks.class_ids], (1, 2, 3))
        counts["tracks"] += int(of_interest.sum())
        counts["tracks_matched"] += sum(1 for r, _ in pairs if of_interest[r])
        matched_rows = {r for r, _ in pairs}
        false_tracks += [(round(t, 1), int(tracks.ids[r]), int(tracks.class_ids[r]), *np.round(tracks.x[r, :2], 1))
                         for r in np.flatnonzero(of_interest) if r not in matched_rows]
    return {
        "classifier": classifier, "frames": counts["frames"],
        "recall_visible": counts["matched_visible"] / max(counts["visible"], 1),
        "recall_in_range": counts["matched_in_range"] / max(counts["in_range"], 1),
        "precision": counts["tracks_matched"] / max(counts["tracks"], 1),
        "id_switches": counts["id_switches"],
        "class_accuracy": counts["class_ok"] / max(counts["matched_visible"], 1),
        "position_error_median_m": float(np.median(errors)) if errors else math.nan,
        "recall_by_class": {k: (m / v if v else None) for k, (v, m) in per_class.items()},
        "truth_visible": counts["visible"], "tracks_counted": counts["tracks"],
        "id_switches_by_actor": switches, "false_tracks_sample": false_tracks[::max(1, len(false_tracks) // 15)],
    }


@pytest.mark.slow
def test_pedestrians_cars_and_cyclists_within_30_m_are_tracked_with_stable_ids() -> None:
    m = run_evaluation()
    print("perception evaluation:", json.dumps(m))
    assert m["frames"] >= 180
    assert m["truth_visible"] > 500  # the scenario really puts objects in view
    # measured 2026-11-25 (the classifier is the committed ONNX model when models/point_classifier.onnx exists):
    # ONNX model: recall 0.92 (pedestrian 1.00, car 0.79, cyclist 1.00), precision 0.80, 10 id switches
    #   (parked car 4, cyclist 3, passing car 3), class accuracy 0.98, median position error 0.11 m;
    # geometric rules: recall 0.94 (1.00, 0.82, 1.00), precision 0.85, 9 id switches, class accuracy 0.86.
    # Cars are the weak point: a lidar box of a car seen end-on is centred on the visible face, 2 m or
    # more from the car's centre, and a car split by an occluding cyclist gives a second track.
    assert m["recall_visible"] >= 0.88, m
    for name, recall in m["recall_by_class"].items():
        assert recall is not None and recall >= 0.75, (name, m)
    assert m["precision"] >= 0.75, m
    assert m["id_switches"] <= 14, m
    assert m["position_error_median_m"] <= 0.5, m
