"""Test support shared by the packages' tests and the cross-package tests (the role
``launch_testing`` plays on a full ROS 2): a private ROS environment, node processes
started the way the launcher starts them, and waiting for messages with a timeout.

Import from tests only; nothing here runs on a vehicle.
"""

import os

import pytest

from lsv_common.testing.graph import (
    MessageRecorder,
    NodeProcess,
    private_ros_env,
    spin_until,
    start_node,
)

#: Marks a test that needs the private network namespace of scripts/netns_sandbox.sh (which
#: `make test` uses): the simulated CAN bus is udp_multicast, which would otherwise reach the
#: host's network.
needs_netns = pytest.mark.skipif(
    os.environ.get("LSV_IN_NETNS") != "1",
    reason="needs the private network namespace for the udp_multicast CAN bus: run via "
           "scripts/netns_sandbox.sh (make test does)")

__all__ = ["MessageRecorder", "NodeProcess", "needs_netns", "private_ros_env", "spin_until", "start_node"]
