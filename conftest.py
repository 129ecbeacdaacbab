"""Root pytest configuration: every test run is its own private ROS graph.

Runs before any test module imports rclpy, so the DDS participants of this run use the
stack's Fast DDS profile, discover only on this computer and use a domain id of their own.
`make test` additionally runs pytest inside a private network namespace when it can
(scripts/netns_sandbox.sh), so nothing can leave the machine.
"""

import os

from lsv_common.testing import private_ros_env

os.environ.update(private_ros_env())
