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
#: host's network. Outside the namespace such a test is skipped with the reason on a developer's
#: machine, and FAILS in CI (``CI`` set): a CI run that cannot make the namespace must not stay green
#: by skipping the closed-loop tests (the root conftest.py applies this, see ``netns_problem``).
needs_netns = pytest.mark.needs_netns

NETNS_REASON = ("needs the private network namespace for the udp_multicast CAN bus: run via "
                "scripts/netns_sandbox.sh (make test does; it needs root or unprivileged user namespaces, "
                "and iproute2)")


def in_ci(env: dict[str, str] | None = None) -> bool:
    """True in a CI run: ``CI`` set to anything but empty, 0 or false (GitHub, GitLab and .ci/run set it)."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def netns_problem(env: dict[str, str] | None = None) -> tuple[str, str] | None:
    """What to do with a ``needs_netns`` test here: None (run it), ("skip", why) or ("fail", why)."""
    env = os.environ if env is None else env
    if env.get("LSV_IN_NETNS") == "1":
        return None
    if in_ci(env):
        return "fail", f"CI run outside a private network namespace: {NETNS_REASON}"
    return "skip", NETNS_REASON


__all__ = ["NETNS_REASON", "MessageRecorder", "NodeProcess", "in_ci", "needs_netns", "netns_problem", "private_ros_env",
           "spin_until", "start_node"]
