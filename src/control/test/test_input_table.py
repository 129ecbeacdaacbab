"""What each node's /diagnostics does to the vehicle: the table in config/controller.param.yaml
(required / advisory / any other node), one row per node of the stack, as the README states it."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_common.params import ParameterError
from lsv_control.controller import ControlInputs, DiagEntry, TrajectoryInput
from lsv_control.sim_plant import Plant, fresh_inputs, heartbeats, make_controller, run_closed_loop, straight

NS = 1_000_000_000
NOW = 100 * NS
ERROR, STALE = 2, 3
STACK = ("localizer", "can_bridge", "planner", "tracker", "lidar_detector", "camera_detector",
         "traffic_light_classifier", "v2x_client")

# node -> (ERROR stops the vehicle, silence stops the vehicle); README "Inputs: required or advisory"
TABLE = {
    "localizer": (True, True),
    "can_bridge": (True, True),
    "planner": (True, False),  # its silence is the trajectory going stale
    "tracker": (True, False),  # ... tracked objects going stale
    "lidar_detector": (True, False),  # ... the tracker's lidar input going stale (tracker ERROR)
    "camera_detector": (False, False),  # the tracker drops camera fusion
    "traffic_light_classifier": (False, False),  # a light without a reading is unknown: stop at its line
    "v2x_client": (False, False),  # V2X is advice
    "some_new_node": (True, False),  # not in the table: its ERROR counts as required
}


def _stops(ctl, diagnostics) -> list[str]:
    return [c for c in ctl.comfortable_causes(NOW, ControlInputs(diagnostics=diagnostics))
            if "diagnostics" in c or "silent" in c]


@pytest.mark.parametrize("node", sorted(TABLE))
def test_a_node_at_error_stops_the_vehicle_only_where_the_table_says(node: str) -> None:
    ctl = make_controller()
    diags = heartbeats(STACK, NOW)
    assert _stops(ctl, diags) == []
    diags[f"{node}: status"] = DiagEntry(node, ERROR, "every frame rejected", NOW)
    assert bool(_stops(ctl, diags)) is TABLE[node][0]
    diags[f"{node}: status"] = DiagEntry(node, STALE, "stale", NOW)
    assert bool(_stops(ctl, diags)) is TABLE[node][0]


@pytest.mark.parametrize("node", sorted(set(STACK)))
def test_a_silent_node_stops_the_vehicle_only_where_the_table_says(node: str) -> None:
    ctl = make_controller()
    diags = heartbeats([n for n in STACK if n != node], NOW)
    diags[f"{node}: heartbeat"] = DiagEntry(node, 0, "ok", NOW - 10 * NS)  # silent for 10 s
    assert bool(_stops(ctl, diags)) is TABLE[node][1]


def test_an_advisory_error_is_reported_not_ignored() -> None:
    ctl = make_controller()
    diags = heartbeats(STACK, NOW)
    diags["camera_detector: camera"] = DiagEntry("camera_detector", ERROR, "every camera frame rejected", NOW)
    assert ctl.advisory_errors(diags, NOW) == ["camera_detector: camera: every camera frame rejected"]


def test_camera_detector_rejecting_every_frame_does_not_stop_the_vehicle() -> None:
    """Hazard (review): the camera detector's 'every frame rejected' ERROR stopped the vehicle, while the
    README says a camera loss only switches camera fusion off. Closed loop: it keeps driving at speed; the
    same ERROR from the lidar detector stops it."""
    traj = straight(300.0, 3.0)
    ran = {}
    for node in ("camera_detector", "lidar_detector"):
        base = fresh_inputs(lambda plant, now: traj, nodes=STACK)

        def build(plant: Plant, now_ns: int, node=node, base=base) -> ControlInputs:
            inp = base(plant, now_ns)
            if now_ns >= 10 * NS:
                diags = dict(inp.diagnostics)
                diags[f"{node}: status"] = DiagEntry(node, ERROR, "every frame rejected", now_ns)
                inp = ControlInputs(inp.odometry, inp.trajectory, inp.status, inp.objects, diags)
            return inp

        ran[node] = run_closed_loop(make_controller(), Plant(), 20.0, build, keep_outputs=True)
    t = np.array(ran["camera_detector"].t_s)
    late = t > 12.0
    assert set(np.array(ran["camera_detector"].states)[late]) == {"NORMAL"}
    assert np.array(ran["camera_detector"].speed)[late].min() > 2.8
    assert ran["lidar_detector"].states[-1] == "STOPPED" and abs(ran["lidar_detector"].speed[-1]) < 0.05


def test_an_empty_trajectory_holds_the_vehicle_with_a_cause() -> None:
    """Hazard (review): an empty trajectory held the vehicle with the MRM state NORMAL and no cause."""
    ctl = make_controller()
    run = run_closed_loop(ctl, Plant(), 12.0, fresh_inputs(
        lambda plant, now: straight(200.0, 3.0) if now < 5 * NS else None), keep_outputs=True)
    assert run.states[-1] == "STOPPED" and abs(run.speed[-1]) < 0.05
    assert "trajectory empty" in ctl.mrm.cause
    causes = ctl.comfortable_causes(NOW, ControlInputs(trajectory=TrajectoryInput(None, NOW)))
    assert "trajectory empty (the planner holds the vehicle)" in causes


def test_a_node_cannot_be_both_required_and_advisory() -> None:
    with pytest.raises(ParameterError, match="localizer"):
        make_controller(controller__advisory_nodes=["localizer", "v2x_client"])
