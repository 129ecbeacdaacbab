"""Run report (report.md / report.json) without a ROS graph: the topics table with the nodes on
each topic and the topics not counted, and the CPU table, from figures given and from a
supervisor that ran small processes."""

import io
import json
import sys
from pathlib import Path

import pytest

from lsv_bringup.graph_monitor import NOT_COUNTED_LARGE, GraphSnapshot, TopicStats
from lsv_bringup.launch_file import LaunchPlan, NodeSpec
from lsv_bringup.packages import Executable
from lsv_bringup.report import LAUNCHER, cpu_figures, write_report
from lsv_bringup.supervisor import Supervisor, own_cpu

LAUNCH = Path("sim.launch.yaml")


def snapshot() -> GraphSnapshot:
    return GraphSnapshot(["/localizer", "/simulator"], {
        "/sim/ground_truth/odometry": TopicStats("nav_msgs/msg/Odometry", count=51, bytes=51 * 700, first_s=10.0,
                                                 last_s=15.0, publishers={"/simulator"}, subscribers=set()),
        "/sensing/gnss/fix": TopicStats("sensor_msgs/msg/NavSatFix", count=11, bytes=11 * 100, first_s=0.0,
                                        last_s=1.0, publishers={"/simulator"},
                                        subscribers={"/localizer", "/v2x_client"}),
        "/sensing/camera/image": TopicStats("sensor_msgs/msg/Image", publishers={"/simulator"},
                                            subscribers={"/traffic_light_classifier", "/camera_detector"},
                                            not_counted=NOT_COUNTED_LARGE),
    })


def test_topics_table_lists_publishers_subscribers_and_the_topics_not_counted(tmp_path):
    json_path, md_path = write_report(tmp_path, LAUNCH, 20.0, 0, [], snapshot(), 0.4, launcher_cpu=(1.0, 21.0))
    md = md_path.read_text()
    assert ("| /sensing/gnss/fix | sensor_msgs/msg/NavSatFix | /simulator | /localizer, /v2x_client | 11 | 10.0 |"
            in md)
    assert "| /sim/ground_truth/odometry | nav_msgs/msg/Odometry | /simulator | - | 51 | 10.0 |" in md
    assert ("| /sensing/camera/image | sensor_msgs/msg/Image | /simulator | "
            "/camera_detector, /traffic_light_classifier | not counted (--topic-stats) | not counted (--topic-stats) |"
            in md)
    topics = json.loads(json_path.read_text())["topics"]
    assert list(topics) == sorted(topics)
    image = topics["/sensing/camera/image"]
    assert image["publishers"] == ["/simulator"]
    assert image["subscribers"] == ["/camera_detector", "/traffic_light_classifier"]
    assert image["messages"] is None and image["rate_hz"] is None and image["not_counted"] == "--topic-stats"
    fix = topics["/sensing/gnss/fix"]
    assert fix["messages"] == 11 and fix["rate_hz"] == 10.0 and fix["bytes"] == 1100 and fix["not_counted"] is None
    # what a test of the graph can ask: no onboard node listens to the simulator's ground truth
    truth = {name: t for name, t in topics.items() if name.startswith("/sim/ground_truth/")}
    assert truth and all(t["subscribers"] == [] for t in truth.values())


def test_cpu_figures_shares_of_one_core_and_of_the_graph():
    nodes = [{"node": "/b", "cpu_s": 1.0, "wall_s": 2.0}, {"node": "/a", "cpu_s": 2.0, "wall_s": 4.0},
             {"node": "/never_started", "cpu_s": 0.0, "wall_s": 0.0}]
    cpu = cpu_figures(nodes, (1.0, 5.0))
    assert list(cpu["nodes"]) == ["/a", "/b", "/never_started"]  # most CPU first
    assert cpu["nodes"]["/a"] == {"cpu_s": 2.0, "wall_s": 4.0, "core_share": 0.5, "graph_share": 0.5}
    assert cpu["nodes"]["/b"] == {"cpu_s": 1.0, "wall_s": 2.0, "core_share": 0.5, "graph_share": 0.25}
    assert cpu["nodes"]["/never_started"]["core_share"] is None
    assert cpu["launcher"] == {"cpu_s": 1.0, "wall_s": 5.0, "core_share": 0.2, "graph_share": 0.25}
    assert cpu["total"] == {"cpu_s": 4.0, "wall_s": 5.0, "core_share": 0.8}  # 0.8 cores over the launch


BURN_S = 0.6  # s of CPU the burning node spends before it exits
SCRIPTS = {
    # spins until it has used BURN_S of CPU, then exits 0 (the supervisor reaps it: exact figure)
    "burn": f"import time\nwhile time.process_time() < {BURN_S}: pass\n",
    # sleeps until SIGINT
    "idle": "import signal, time\nstop = []\nsignal.signal(signal.SIGINT, lambda *a: stop.append(1))\n"
            "while not stop: time.sleep(0.05)\n",
}


def test_cpu_table_from_a_supervisor_that_ran_a_busy_and_an_idle_process(tmp_path):
    specs = []
    for name, text in SCRIPTS.items():
        script = tmp_path / f"{name}.py"
        script.write_text(f"#!{sys.executable}\n{text}")
        script.chmod(0o755)
        specs.append(NodeSpec("test_pkg", Executable("test_pkg", name, path=script), name))
    sup = Supervisor(LaunchPlan(specs, {}, {}), tmp_path / "log", env={}, out=io.StringIO())
    sup.run(duration_s=3.0)
    summary = {n["node"]: n for n in sup.summary()}
    burn, idle = summary["/burn"], summary["/idle"]
    # taken at the exit from the kernel: all of it, plus the interpreter's start-up (< 1 s even on a busy machine)
    assert BURN_S <= burn["cpu_s"] < BURN_S + 1.0
    assert burn["cpu_s"] <= burn["wall_s"] + 0.05  # one thread cannot use more than one core
    assert idle["cpu_s"] < 0.5 * idle["wall_s"] and 2.5 < idle["wall_s"] < 10.0

    json_path, md_path = write_report(tmp_path / "report", LAUNCH, 3.0, 0, sup.summary(), None, sup.shutdown_s)
    cpu = json.loads(json_path.read_text())["cpu"]
    assert list(cpu["nodes"]) == ["/burn", "/idle"]
    assert 0.05 < cpu["nodes"]["/burn"]["core_share"] <= 1.05
    shares = [c["graph_share"] for c in cpu["nodes"].values()] + [cpu["launcher"]["graph_share"]]
    assert sum(shares) == pytest.approx(1.0, abs=0.01)
    assert cpu["launcher"]["cpu_s"] > 0  # this test process, measured by getrusage
    lines = md_path.read_text().splitlines()
    table = lines[lines.index("## CPU"):]
    assert any(line.startswith(f"| {LAUNCHER} |") for line in table)
    row = next(line for line in table if line.startswith("| /burn |"))
    assert row.endswith(" % |") and f"| {cpu['nodes']['/burn']['cpu_s']:.2f} |" in row
    assert next(line for line in table if line.startswith("| total |")).endswith("cores | 100 % |")


def test_own_cpu_is_this_process():
    cpu_s, wall_s = own_cpu()
    assert cpu_s > 0 and wall_s is not None and wall_s > 0


def test_an_lsv_sim_report_names_the_scenario_verdict_and_the_perception_mode(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"scenario": "delivery_red_light", "passed": True,
                                                       "perception": "oracle"}))
    _, md_path = write_report(tmp_path, LAUNCH, 20.0, 0, [], snapshot(), 0.4, launcher_cpu=(1.0, 21.0))
    lines = md_path.read_text().splitlines()
    assert lines[3].startswith("- scenario `delivery_red_light`: PASS; perception: oracle (ground truth")
