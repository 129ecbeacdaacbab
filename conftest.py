"""Root pytest configuration: every test run is its own private ROS graph.

Runs before any test module imports rclpy, so the DDS participants of this run use the
stack's Fast DDS profile, discover only on this computer and use a domain id of their own.
`make test` additionally runs pytest inside a private network namespace when it can
(scripts/netns_sandbox.sh), so nothing can leave the machine.
"""

import os

import pytest

from lsv_common.testing import private_ros_env

os.environ.update(private_ros_env())

# needs_netns: skipped outside the network namespace on a developer's machine, failed in CI
pytest_plugins = ["lsv_common.testing.plugin"]


# -- shared fixtures (what launch_testing gives on a full ROS 2) ---------------------------


def pytest_addoption(parser):
    parser.addoption("--update-refs", action="store_true", default=False,
                     help="tests/test_replay.py: rewrite the reference outputs next to the bags in tests/data/ "
                          "instead of comparing with them (after a deliberate behaviour change or re-recording)")


@pytest.fixture
def ros_node():
    """An rclpy node in this test process, on the run's private domain."""
    import rclpy

    rclpy.init()
    node = rclpy.create_node("test_observer")
    yield node
    node.destroy_node()
    rclpy.try_shutdown()


@pytest.fixture
def launch_graph(tmp_path):
    """Factory: ``launch_graph(FILE, "arg:=value", ...)`` starts ``lsv launch`` in its own
    process; every graph still running at the end of the test is killed."""
    from lsv_bringup.testing import LaunchedGraph

    graphs = []

    def start(file, *args):
        graph = LaunchedGraph(file, list(args), tmp_path / f"log{len(graphs)}")
        graphs.append(graph)
        return graph

    yield start
    for graph in graphs:
        graph.kill()
