"""Launch-level tests: the graph started exactly as a user starts it (`lsv launch FILE`),
observed from a separate test node over real topics."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy

from lsv_bringup.launch_file import LaunchLoader, parse_launch_args
from lsv_common.testing import MessageRecorder, needs_netns, private_ros_env, spin_until
from lsv_msgs.msg import V2xHintArray

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "launch" / "stack.launch.yaml"
# python-can's in-process `virtual` bus: the bridge runs without any CAN traffic leaving it.
STACK_ARGS = ["can_interface:=virtual", "can_channel:=launch_test"]


def graph_nodes(node):
    return {f"{ns.rstrip('/')}/{n}" for n, ns in node.get_node_names_and_namespaces()}


def diag_sources(rec):
    return {s.name.split(":")[0] for m in rec.messages for s in m.status}


def test_the_bridge_command_period_is_the_chassis_one_unless_sync_mode_asks_for_less():
    def period(file: Path, *args: str) -> float:
        plan = LaunchLoader().load(file, parse_launch_args(list(args)))
        return float(next(n for n in plan.nodes if n.fqn == "/can_bridge").params["command_period_ms"])

    sim = ROOT / "launch" / "sim.launch.yaml"
    assert period(STACK, *STACK_ARGS) == 20.0  # a vehicle: the DBC's 20 ms
    assert period(sim) == 20.0
    assert period(sim, "can_command_period_ms:=5") == 5.0  # what `lsv sim --sync` passes
    from lsv_bringup.cli import SYNC_CAN_PERIOD_MS
    from lsv_can_bridge.params import BridgeParams
    from lsv_common.params import param_fields

    low = next(f.spec.min for f in param_fields(BridgeParams) if f.name == "command_period_ms")
    assert low <= SYNC_CAN_PERIOD_MS < 20.0  # the bridge accepts it


def test_the_simulator_hears_the_controllers_mrm_state():
    """The comfort figures leave out emergency stops: the simulator must listen where the controller
    publishes its minimal-risk state, in the graph `lsv sim` starts."""
    plan = LaunchLoader().load(ROOT / "launch" / "sim.launch.yaml", parse_launch_args([]))
    remaps = {n.fqn: dict(n.remaps) for n in plan.nodes}
    assert remaps["/simulator"]["~/input/mrm_state"] == remaps["/controller"]["~/output/state"] == "/control/mrm_state"


ONBOARD = ("/can_bridge", "/v2x_client", "/planner", "/localizer", "/controller", "/camera_detector",
           "/traffic_light_classifier", "/lidar_detector", "/tracker")


def ground_truth_inputs(node) -> list[str]:
    """Topics under /sim/ground_truth/ that a node of a launch plan is pointed at (remaps or parameters)."""
    names = [dst for _, dst in node.remaps] + [str(v) for v in node.params.values()]
    return [name for name in names if name.startswith("/sim/ground_truth/")]


def test_lsv_sim_runs_the_whole_onboard_graph_on_its_own_perception_by_default():
    plan = LaunchLoader().load(ROOT / "launch" / "sim.launch.yaml", parse_launch_args([]))
    nodes = {n.fqn: n for n in plan.nodes}
    assert set(ONBOARD) <= set(nodes)
    assert {name: ground_truth_inputs(nodes[name]) for name in ONBOARD} == {name: [] for name in ONBOARD}
    remaps = {name: dict(n.remaps) for name, n in nodes.items()}
    assert remaps["/planner"]["~/input/objects"] == remaps["/controller"]["~/input/objects"] == "/perception/objects"
    assert remaps["/planner"]["~/input/perceived_signals"] == "/perception/traffic_signals"
    assert remaps["/tracker"]["~/input/v2x_objects"] == remaps["/v2x_client"]["~/output/objects"]  # RSM objects
    sim = nodes["/simulator"].params
    assert sim["perception"] == "stack" and sim["sensors.lidar"] == sim["sensors.camera"] == "true"


@pytest.mark.parametrize("arg", ["oracle:=true", "perception:=false"])
def test_only_the_oracle_argument_gives_onboard_nodes_ground_truth_and_says_so(arg):
    plan = LaunchLoader().load(ROOT / "launch" / "sim.launch.yaml", parse_launch_args([arg]))
    nodes = {n.fqn: n for n in plan.nodes}
    assert not {"/camera_detector", "/traffic_light_classifier", "/lidar_detector", "/tracker"} & set(nodes)
    assert ground_truth_inputs(nodes["/planner"]) == ["/sim/ground_truth/visible_signals",
                                                      "/sim/ground_truth/objects"]
    assert ground_truth_inputs(nodes["/controller"]) == ["/sim/ground_truth/objects"]
    assert nodes["/simulator"].params["perception"] == "oracle"  # written into summary.json


def test_lsv_sim_latency_reaches_the_planner_and_every_perception_node(tmp_path):
    from lsv_bringup.cli import build_parser, sim_launch_arguments
    from lsv_common.latency import OutputDelayParams
    from lsv_common.paramfile import load_param_file

    parser, _ = build_parser()
    args = sim_launch_arguments(parser.parse_args(["sim", "--sync", "--latency", "fixed"]), tmp_path)
    nodes = {n.fqn: n for n in LaunchLoader().load(ROOT / "launch" / "sim.launch.yaml", parse_launch_args(args)).nodes}
    delayed = {"/planner", "/camera_detector", "/traffic_light_classifier", "/lidar_detector", "/tracker"}
    assert {name for name, n in nodes.items() if n.params.get("output_delay.mode") == "fixed"} == delayed
    for name in delayed:  # each node's parameter file gives its own latency, within the declared range
        fixed_s = [v.get("output_delay.fixed_s") for f in nodes[name].params_files for v in load_param_file(f).values()]
        assert any(v is not None and 0.0 < v <= 0.1 for v in fixed_s), (name, fixed_s)
    plain = LaunchLoader().load(ROOT / "launch" / "sim.launch.yaml", parse_launch_args([])).nodes
    assert {n.params.get("output_delay.mode") for n in plain if n.fqn in delayed} == {OutputDelayParams().mode}


def test_lsv_sim_oracle_option_is_the_launch_argument_and_the_default_is_the_stacks_perception(tmp_path):
    from lsv_bringup.cli import build_parser, sim_launch_arguments

    parser, _ = build_parser()
    default = sim_launch_arguments(parser.parse_args(["sim"]), tmp_path)
    oracle = sim_launch_arguments(parser.parse_args(["sim", "--sync", "--oracle"]), tmp_path)
    assert not [a for a in default if a.startswith(("oracle:=", "perception:="))]
    assert "oracle:=true" in oracle and "sim_mode:=sync" in oracle
    plan = LaunchLoader().load(ROOT / "launch" / "sim.launch.yaml", parse_launch_args(oracle))
    assert next(n for n in plan.nodes if n.fqn == "/simulator").params["perception"] == "oracle"


@pytest.mark.slow
def test_stack_launch_starts_every_node_and_shuts_down_cleanly(ros_node, launch_graph):
    expected = {n.fqn for n in LaunchLoader().load(STACK, parse_launch_args(STACK_ARGS)).nodes}
    assert {"/can_bridge", "/v2x_client"} <= expected  # every node that exists so far
    diag = MessageRecorder(ros_node, DiagnosticArray, "/diagnostics", 50)
    hints = MessageRecorder(ros_node, V2xHintArray, "/v2x/hints",
                            QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
    graph = launch_graph(STACK, *STACK_ARGS)
    assert spin_until(ros_node, lambda: expected <= graph_nodes(ros_node), 30.0), graph_nodes(ros_node)
    names = {n.strip("/") for n in expected}
    assert spin_until(ros_node, lambda: names <= diag_sources(diag), 15.0), diag_sources(diag)
    assert spin_until(ros_node, lambda: hints.count >= 5, 10.0)  # v2x_client publishes at 10 Hz
    status, took_s, out = graph.stop(signal.SIGINT)
    assert took_s < 5.0, "shutdown took longer than 5 s"
    assert status == 0, out
    assert spin_until(ros_node, lambda: not (expected & graph_nodes(ros_node)), 10.0)
    for name in names:
        assert graph.log(name), f"no log output from {name}"


@pytest.mark.slow
def test_dead_nodes_are_respawned_or_fail_the_launch(ros_node, launch_graph):
    diag = MessageRecorder(ros_node, DiagnosticArray, "/diagnostics", 50)
    graph = launch_graph(STACK, *STACK_ARGS)
    pids = graph.read_pids(2)
    assert spin_until(ros_node, lambda: {"v2x_client", "can_bridge"} <= diag_sources(diag), 30.0)
    os.kill(pids["/v2x_client"], signal.SIGKILL)   # respawn: true in the launch file
    time.sleep(0.5)  # let the last diagnostics of the killed process drain
    diag.messages.clear()
    assert spin_until(ros_node, lambda: "v2x_client" in diag_sources(diag), 20.0), "v2x_client did not come back"
    assert graph.log("/v2x_client").count("--- start #") == 2
    os.kill(pids["/can_bridge"], signal.SIGKILL)   # not respawned: the launch has failed
    time.sleep(1.0)
    status, took_s, out = graph.stop(signal.SIGTERM)
    assert status == 1, out
    assert took_s < 5.0


@pytest.mark.slow
@needs_netns
def test_lsv_sim_runs_a_scenario_with_the_graph_and_writes_the_reports(tmp_path):
    report = tmp_path / "report"
    args = ["sim", "--scenario", "default", "--report", str(report), "--log-dir", str(tmp_path / "log"),
            "--topic-stats", "duration_s:=6.0", "lidar:=true"]
    proc = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", *args],
                          env=private_ros_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((report / "report.json").read_text())
    assert data["exit_status"] == 0 and data["shutdown_s"] < 5.0
    assert {n["node"] for n in data["nodes"]} >= {"/can_bridge", "/v2x_client", "/simulator"}
    assert all(n["starts"] == 1 and not n["failed"] for n in data["nodes"])
    topics = data["topics"]
    # the simulated chassis ECU's status frames come back through the bridge as VehicleStatus,
    # the simulator's clock and sensors flow, and the road-side unit's SPaT reaches the stack
    for topic in ("/vehicle/status", "/clock", "/sim/ground_truth/odometry", "/sensing/lidar/points",
                  "/v2x/traffic_signals"):
        assert topics[topic]["messages"] > 0, topic
    # the live graph: the stack's own perception feeds the planner and the controller, and no onboard
    # node subscribes to the simulator's ground truth (the evaluation's, not the vehicle's)
    assert {"/planner", "/controller"} <= set(topics["/perception/objects"]["subscribers"])
    assert "/tracker" in topics["/perception/objects"]["publishers"]
    truth_readers = {t: topics[t]["subscribers"] for t in topics if t.startswith("/sim/ground_truth/")}
    assert truth_readers and not any(set(readers) & set(ONBOARD) for readers in truth_readers.values()), truth_readers
    summary = json.loads((report / "summary.json").read_text())  # the scenario's own report
    assert summary["perception"] == "stack"
    assert summary["completed"] and summary["duration_s"] == 6.0
    # real-time mode records the emergency stops too: none here (the ECU's MANUAL before the stack
    # engaged is not one), so nothing is left out of the ride comfort figures, shown in report.md
    assert summary["comfort"]["excluded"] == [] and summary["comfort"]["excluded_s"] == 0.0
    assert "## Ride comfort" in (report / "report.md").read_text()
    assert (report / "trajectory.png").stat().st_size > 0
    assert (report / "report.md").read_text().startswith("# Run report: sim.launch.yaml")


@pytest.mark.slow
@needs_netns
def test_lsv_sim_oracle_gives_the_planner_and_controller_ground_truth_and_says_so(tmp_path):
    report = tmp_path / "report"
    args = ["sim", "--oracle", "--scenario", "default", "--report", str(report), "--log-dir", str(tmp_path / "log"),
            "duration_s:=4.0"]
    proc = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", *args],
                          env=private_ros_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(perception: oracle)" in proc.stdout
    topics = json.loads((report / "report.json").read_text())["topics"]
    assert {"/planner", "/controller"} <= set(topics["/sim/ground_truth/objects"]["subscribers"])
    assert "/perception/objects" not in topics or not topics["/perception/objects"]["publishers"]
    assert json.loads((report / "summary.json").read_text())["perception"] == "oracle"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_whole_process_group_stops_every_node_with_status_0(ros_node, tmp_path, sig):
    """`ros2 launch`, `timeout` and most supervisors signal the whole process group, often more than once
    (a terminal's Ctrl-C, then the launcher's own SIGINT to each node). Every node of the stack, started
    the way the launch file says in ONE process group, ends with status 0: no abort from a
    KeyboardInterrupt inside a C++ callback, no publish on a dead context."""
    plan = LaunchLoader().load(STACK, parse_launch_args(STACK_ARGS))
    env = {**private_ros_env(), **plan.env}
    procs: dict[str, subprocess.Popen] = {}
    pgid = 0
    try:
        for spec in plan.nodes:
            cmd = spec.executable.command(sys.executable) + spec.args + spec.ros_args()
            with open(tmp_path / f"{spec.name}.log", "wb") as log:
                procs[spec.fqn] = subprocess.Popen(cmd, env={**env, **spec.env}, stdin=subprocess.DEVNULL,
                                                   stdout=log, stderr=subprocess.STDOUT, process_group=pgid)
            pgid = pgid or procs[spec.fqn].pid
        assert spin_until(ros_node, lambda: set(procs) <= graph_nodes(ros_node), 60.0), graph_nodes(ros_node)
        time.sleep(2.0)  # every node in its steady state: timers, loops and services running
        for _ in range(3):
            os.killpg(pgid, sig)
            time.sleep(0.02)
        status = {}
        for name, proc in procs.items():
            try:
                status[name] = proc.wait(15)
            except subprocess.TimeoutExpired:
                status[name] = f"still running 15 s after {sig.name}"
        logs = {spec.fqn: (tmp_path / f"{spec.name}.log").read_text(errors="replace") for spec in plan.nodes}
        assert status == {name: 0 for name in procs}, {n: logs[n][-2000:] for n, s in status.items() if s != 0}
        for name, text in logs.items():
            assert "terminate called" not in text and "context is invalid" not in text, (name, text[-2000:])
            assert "Traceback" not in text, (name, text[-2000:])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
