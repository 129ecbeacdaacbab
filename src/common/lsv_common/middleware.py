"""Middleware environment defaults: Fast DDS with a large shared-memory segment, discovery
kept on this computer unless the environment says otherwise.

Pure module: it only computes and applies environment variables, so the launcher, the
test fixtures and every node agree on the same settings.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

FASTDDS_PROFILE = Path(__file__).resolve().parent / "data" / "fastdds_profile.xml"

#: Applied with setdefault: an engineer's explicit setting always wins.
DEFAULTS: dict[str, str] = {
    "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
    "FASTDDS_DEFAULT_PROFILES_FILE": str(FASTDDS_PROFILE),
    "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    # Fast DDS reads its built-in XML only when this is unset; keep logs quiet by default.
    "RCUTILS_COLORIZED_OUTPUT": "0",
}

DOMAIN_ID_RANGE = (1, 101)  # private test domains; 0 is left to the vehicle's own graph


def apply_defaults(env: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the stack's middleware defaults in ``env`` (default ``os.environ``) where unset.

    Returns the variables that were set. Must run before ``rclpy.init`` creates the DDS
    participant, because Fast DDS reads its profile then.
    """
    target = os.environ if env is None else env
    applied: dict[str, str] = {}
    for key, value in DEFAULTS.items():
        if key not in target:
            target[key] = value
            applied[key] = value
    return applied


def private_domain_id(seed: int) -> int:
    """A ROS domain id in DOMAIN_ID_RANGE derived from ``seed`` (e.g. a process id).

    Domain ids above 101 map to UDP ports that may collide with ephemeral ports on Linux,
    hence the small range.
    """
    low, high = DOMAIN_ID_RANGE
    return low + seed % (high - low + 1)
