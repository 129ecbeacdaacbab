"""A whole scenario with the whole stack, started the way a user starts it (`lsv sim`), judged on
physical outcomes from the simulator's own evaluation (summary.json).

`v2x_silent`: the default delivery, but the road-side unit of the first intersection falls silent
5 s in, 30 s before the vehicle reaches the red light. The planner has only the light states the
camera sees (here the simulator's ideal light perception, `/sim/ground_truth/visible_signals`):
the vehicle must stop before the line while the light is red, drive on at green, yield to the
pedestrian on the crosswalk and deliver. Before the camera's light states reached the planner,
the light stayed "unknown" and the vehicle held at the line until the run ended.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lsv_common.testing import needs_netns, private_ros_env

GREEN_AT_S = 35.0  # v2x_silent.yaml: the west light is red for the first 35 s


@pytest.mark.slow
@needs_netns
def test_without_v2x_the_vehicle_stops_at_the_red_it_sees_and_delivers(tmp_path):
    report = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", "sim", "--scenario", "v2x_silent", "--report",
                           str(report), "--log-dir", str(tmp_path / "log")],
                          env=private_ros_env(), capture_output=True, text=True, timeout=400)
    out = proc.stdout[-3000:] + proc.stderr[-2000:]
    summary = json.loads((report / "summary.json").read_text())
    assert summary["completed"], out
    fault = summary["faults"][0]
    assert fault["type"] == "v2x_silent" and fault["injected"] and fault["speed_at_injection_mps"] > 1.0
    # no light crossed on red, no stop line or crosswalk violated, nothing hit
    assert summary["collisions"] == [], out
    assert summary["red_light_violations"] == [] and summary["stop_line_violations"] == [], out
    assert summary["crosswalk_yield_violations"] == [], out
    assert summary["min_distance_m"]["ped-crossing"]["distance_m"] >= 1.5
    # it went through the intersection only once the light was green (no red-light violation above), and
    # delivered: with the light's state unknown it would have waited at the line until the run ended
    assert summary["goal_reached"] and summary["time_to_goal_s"] > GREEN_AT_S, out
    assert summary["passed"] and proc.returncode == 0, out
