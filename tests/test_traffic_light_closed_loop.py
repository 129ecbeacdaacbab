"""Camera -> traffic-light classifier -> planner -> vehicle, in closed loop without V2X (an
intersection whose road-side unit is silent): the simulator's camera renders what the vehicle
sees at each step, the classifier core reads the light, the planner core plans on that alone,
and a vehicle follows the plan exactly. Physical outcomes: the front bumper stays before the stop
line while the light is red, the vehicle waits there, drives on when the light turns green and
reaches its goal; a head whose lamps are dark holds the vehicle at the line."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_perception.fusion.projection import Calibration, CameraMountParams, rotation_rpy
from lsv_perception.traffic_light import LightClassifierParams, classify, load_light_map
from lsv_planning.decision import DecisionState
from lsv_planning.inputs import NS, PlannerInputs, Signal, Stamped
from lsv_planning.lanelet_map import load_road_map
from lsv_planning.mission import Goal, GoalKind
from lsv_planning.params import PlannerParams
from lsv_planning.planner import Planner
from lsv_planning.toy_vehicle import ToyVehicle

pytestmark = pytest.mark.slow  # about 200 rendered frames per run

MAP = "package://lsv_sim/maps/district.osm"
ORIGIN = (30.2741, 120.1551, 0.0)
DT = 0.1  # s, planner cycle
CAMERA_EVERY = 2  # planner cycles per camera frame (5 Hz)
STOP_LINE_X = -12.0  # intersection 101, the eastbound approach (stop line 10059)
FRONT_M = 2.45  # base_link (rear axle) to the front bumper
DROP = Goal("parcel-drop", GoalKind.STOP, -1.75, -72.9, -math.pi / 2, dwell_s=2.0)


@pytest.fixture(scope="module")
def world_and_camera():
    from lsv_sim.sensors import Extrinsics
    from lsv_sim.sensors.camera import Camera, CameraParams
    from lsv_sim.world import load_world

    world = load_world()
    camera = Camera(CameraParams(), world.static_mesh(), world.traffic_lights)
    info = camera.camera_info()
    calib = Calibration(np.array(info.k).reshape(3, 3), info.width, info.height, CameraMountParams().t_base_camera())
    return world, camera, Extrinsics().matrix("camera"), calib, load_light_map(MAP, *ORIGIN)


def drive(world_and_camera, lamp_at, seconds: float):
    """Run the loop; ``lamp_at(t)`` = the colour lit on every head at time t (None = dark).
    Returns (t, x, speed, decision) per planner cycle."""
    from lsv_sim.sensors import pose_matrix

    world, camera, t_base_cam, calib, light_map = world_and_camera
    params = PlannerParams(map_path=MAP, map_origin_lat_deg=ORIGIN[0], map_origin_lon_deg=ORIGIN[1])
    planner = Planner(params, load_road_map(MAP, *ORIGIN), [DROP])
    car = ToyVehicle(-60.0, -1.75, 0.0, dt=DT)
    seen = Stamped(0, ())
    trace = []
    for k in range(int(seconds / DT)):
        t, now = k * DT, int(k * DT * NS)
        if k % CAMERA_EVERY == 0:
            # the true pose renders the frame; the classifier gets the pose a 2D localizer gives (no height,
            # 0.5 deg heading error) with the height taken from the map, as the node does
            z = float(world.height_at(np.array([[car.x, car.y]]))[0])
            truth = pose_matrix(car.x, car.y, z, yaw=car.yaw)
            colour = lamp_at(t)
            rgb = camera.render(truth @ t_base_cam, signals={h.id: colour for h in world.traffic_lights} if colour
                                else {}, rng=np.random.default_rng(k)).rgb
            est = pose_matrix(car.x, car.y, light_map.road_height(car.x, car.y), yaw=car.yaw)
            est[:3, :3] = est[:3, :3] @ rotation_rpy(0.0, 0.0, math.radians(0.5))
            obs = classify(rgb, light_map.heads, calib, est, LightClassifierParams())
            seen = Stamped(now, tuple(Signal(o.head.intersection_id, o.head.phase_id, o.state, o.head.lanelet_ids[0])
                                      for o in obs if o.colour))
        pts, dec = planner.plan(now, PlannerInputs(car.ego(now), None, Stamped(now, ()), Stamped(now, ()),
                                                   perceived_signals=seen))
        trace.append((t, car.x, car.v, dec))
        car.follow(pts)
        if dec.state == DecisionState.MISSION_COMPLETE:
            break
    return trace


def test_red_then_green_seen_by_the_camera_alone(world_and_camera):
    green_at = 30.0
    trace = drive(world_and_camera, lambda t: "red" if t < green_at else "green", 75.0)
    red = [(t, x, v, d) for t, x, v, d in trace if t < green_at]
    # the front bumper stayed before the line while the light was red, and the vehicle waited there
    assert max(x for _, x, _, _ in red) + FRONT_M <= STOP_LINE_X - 0.2
    waiting = [(t, x) for t, x, v, d in red if v < 0.05 and d.reason == "red_light"]
    assert waiting and waiting[0][1] + FRONT_M >= STOP_LINE_X - 3.0, "stopped far from the line"
    # green: over the line within 8 s, then on to the goal
    crossed = next(t for t, x, _, _ in trace if x + FRONT_M > STOP_LINE_X)
    assert green_at <= crossed <= green_at + 8.0
    assert trace[-1][3].state == DecisionState.MISSION_COMPLETE


def test_a_dark_head_holds_the_vehicle_at_the_line(world_and_camera):
    trace = drive(world_and_camera, lambda t: None, 40.0)
    assert max(x for _, x, _, _ in trace) + FRONT_M <= STOP_LINE_X - 0.2
    assert trace[-1][2] < 0.05 and trace[-1][3].reason == "unknown_signal"
