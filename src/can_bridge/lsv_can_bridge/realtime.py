"""Real-time scheduling of the calling thread (openpilot's ``config_realtime_process`` role)."""

from __future__ import annotations

import os


def set_realtime_priority(priority: int) -> str | None:
    """Run the calling thread under SCHED_FIFO at ``priority`` (1-99; 0 = leave it alone).

    Returns None on success, else why not (needs root or CAP_SYS_NICE / an rtprio limit):
    the caller logs it and carries on with normal scheduling.
    """
    if priority <= 0:
        return None
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError) as err:
        return f"cannot use SCHED_FIFO priority {priority}: {err}"
    return None
