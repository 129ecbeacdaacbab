"""Node restarts seen on /diagnostics (pure: no rclpy).

Every node's ``/diagnostics`` heartbeat carries a ``run_id`` value that is new each time its
process starts (``lsv_common.node.Diagnostics``). A monitor that sees a node's ``run_id``
change knows the node was restarted, even when the restart was quicker than its silence
timeout (a respawned V2X client is back within 2-3 s, under the 3 s heartbeat timeout):
the launcher's respawns become visible to the controller under ``ros2 launch`` as well as
``lsv launch``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

RUN_ID_KEY = "run_id"


def new_run_id() -> str:
    """An id for this process's run: pid and start time (unique on one machine)."""
    return f"{os.getpid()}-{time.time_ns():x}"


@dataclass
class RestartTracker:
    """Remembers each node's ``run_id`` and when it last changed."""

    run_ids: dict[str, str] = field(default_factory=dict)
    restarted_ns: dict[str, int] = field(default_factory=dict)  # node -> time the new run was first seen
    restarts: dict[str, int] = field(default_factory=dict)  # node -> count

    def update(self, node: str, run_id: str, now_ns: int) -> bool:
        """Record a heartbeat; True when it shows a restart (a run id different from the last one)."""
        previous = self.run_ids.get(node)
        self.run_ids[node] = run_id
        if previous is None or previous == run_id:
            return False
        self.restarted_ns[node] = now_ns
        self.restarts[node] = self.restarts.get(node, 0) + 1
        return True

    def recent(self, now_ns: int, window_ns: int) -> list[str]:
        """Nodes restarted within the last ``window_ns`` (sorted)."""
        return sorted(n for n, t in self.restarted_ns.items() if 0 <= now_ns - t <= window_ns)
