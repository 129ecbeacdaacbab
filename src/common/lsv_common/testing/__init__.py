"""Test support shared by the packages' tests and the cross-package tests (the role
``launch_testing`` plays on a full ROS 2): a private ROS environment, node processes
started the way the launcher starts them, and waiting for messages with a timeout.

Import from tests only; nothing here runs on a vehicle.
"""

from lsv_common.testing.graph import (
    MessageRecorder,
    NodeProcess,
    private_ros_env,
    spin_until,
    start_node,
)

__all__ = ["MessageRecorder", "NodeProcess", "private_ros_env", "spin_until", "start_node"]
