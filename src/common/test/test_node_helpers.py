"""The ROS helpers over a real rclpy context (one process)."""

import subprocess
import sys
from dataclasses import dataclass, field

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter

from lsv_common.node import WARN, Diagnostics, level_of, load_params, status
from lsv_common.params import ParameterError, spec
from lsv_common.testing import MessageRecorder, private_ros_env, spin_until


@dataclass(frozen=True)
class P:
    rate_hz: float = field(metadata=spec("loop rate", unit="Hz", min=1.0, max=100.0))
    topic: str = field(default="x", metadata=spec("a name", optional=True))


@pytest.fixture
def ros():
    rclpy.init()
    yield
    rclpy.try_shutdown()


def test_load_params_from_overrides(ros):
    node = rclpy.create_node("p_ok", parameter_overrides=[Parameter("rate_hz", value=50)])
    assert load_params(node, P) == P(50.0, "x")
    assert "loop rate [Hz]" in node.describe_parameter("rate_hz").description
    node.destroy_node()


def test_load_params_names_the_node_and_the_problem(ros):
    node = rclpy.create_node("p_bad", parameter_overrides=[Parameter("rate_hz", value=500.0)])
    with pytest.raises(ParameterError, match=r"(?s)node '/p_bad'.*'rate_hz' = 500.0 is above its maximum 100.0"):
        load_params(node, P)
    node.destroy_node()


def test_diagnostics_are_published_with_the_node_name(ros):
    node = rclpy.create_node("diag_src")
    diag = Diagnostics(node, lambda: [status("loop", WARN, "late", {"overruns": 3, "p99_ms": 1.23456})],
                       period_s=0.1)
    rec = MessageRecorder(node, DiagnosticArray, "/diagnostics")
    assert spin_until(node, lambda: rec.count >= 2, 5.0)
    s = rec.last.status[0]
    assert s.name == "diag_src: loop" and level_of(s) == WARN and s.message == "late"
    # the run id (one per process start) rides on the first status, the same in every message
    assert {kv.key: kv.value for kv in s.values} == {"overruns": "3", "p99_ms": "1.235", "run_id": diag.run_id}
    assert rec.messages[0].status[0].values[-1].value == diag.run_id
    node.destroy_node()


def test_run_node_turns_bad_configuration_into_exit_status_2(tmp_path):
    params = tmp_path / "n.param.yaml"
    params.write_text("/**:\n  ros__parameters:\n    rate_hz: 0.5\n")
    code = (
        "import sys, rclpy\n"
        "from test_node_helpers_support import make\n"
        "from lsv_common.node import run_node\n"
        "sys.exit(run_node(make))\n"
    )
    (tmp_path / "test_node_helpers_support.py").write_text(
        "from dataclasses import dataclass, field\n"
        "from rclpy.node import Node\n"
        "from lsv_common.node import load_params\n"
        "from lsv_common.params import spec\n"
        "@dataclass(frozen=True)\n"
        "class P:\n"
        "    rate_hz: float = field(metadata=spec('loop rate', unit='Hz', min=1.0, max=100.0))\n"
        "def make():\n"
        "    n = Node('configured')\n"
        "    load_params(n, P)\n"
        "    return n\n")
    proc = subprocess.run([sys.executable, "-c", code, "--ros-args", "--params-file", str(params)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "n.param.yaml" in proc.stderr and "'rate_hz' = 0.5 is below its minimum 1.0" in proc.stderr


def test_run_node_ends_with_status_0_when_the_node_ends_its_own_run(tmp_path):
    """A node that shuts its context down (the simulator at the end of its scenario) while a
    callback still uses it must end with status 0, not a traceback: run_node's spin loop
    treats an error raised into a context that is no longer ok as the end of the run."""
    (tmp_path / "ending_node.py").write_text(
        "import sys\n"
        "from rclpy.node import Node\n"
        "from std_msgs.msg import String\n"
        "from lsv_common.node import run_node\n"
        "def make():\n"
        "    n = Node('ending')\n"
        "    pub = n.create_publisher(String, 'out', 10)\n"
        "    def done():\n"
        "        n.context.try_shutdown()\n"
        "        pub.publish(String(data='after shutdown'))  # raises: the context is gone\n"
        "    n.create_timer(0.2, done)\n"
        "    return n\n"
        "sys.exit(run_node(make))\n")
    proc = subprocess.run([sys.executable, str(tmp_path / "ending_node.py")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=private_ros_env())
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
