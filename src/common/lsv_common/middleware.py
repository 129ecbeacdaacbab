"""Middleware environment defaults: Fast DDS with a large shared-memory segment, discovery
kept on this computer unless the environment says otherwise.

It computes and applies environment variables (no rclpy here), so the launcher, the test
fixtures and every node agree on the same settings; and ``close_within`` bounds a command's
own ROS 2 teardown, which Fast DDS can deadlock.
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import TypeVar

FASTDDS_PROFILE = Path(__file__).resolve().parent / "data" / "fastdds_profile.xml"

#: Applied with setdefault: an engineer's explicit setting always wins.
DEFAULTS: dict[str, str] = {
    "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
    "FASTDDS_DEFAULT_PROFILES_FILE": str(FASTDDS_PROFILE),
    "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    # Fast DDS reads its built-in XML only when this is unset; keep logs quiet by default.
    "RCUTILS_COLORIZED_OUTPUT": "0",
}

CLOSE_S = 20.0  # s a command's own ROS 2 participant may take to shut down (close_within)

T = TypeVar("T")

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


def close_within(close: Callable[[], T], timeout_s: float) -> T:
    """``close()``; if it has not returned after ``timeout_s``, dump every thread's stack to
    stderr and end the process with status 1.

    For a command's own ROS 2 participant once its results are on disk (the launcher's report,
    the recorder's bag): Fast DDS 3.2 can deadlock while a participant is destroyed just as a
    remote one leaves (seen once in 220 suite runs: PDP mutex vs. the event thread), and rclpy
    holds the GIL through it, so a Python thread or signal handler cannot time it out.
    faulthandler's watchdog is a C thread.
    """
    faulthandler.dump_traceback_later(timeout_s, exit=True)
    try:
        return close()
    finally:
        faulthandler.cancel_dump_traceback_later()
