"""When the run was in an emergency stop (pure; the simulator node feeds it, time is an argument).

Two sources, each an on/off state with the simulated time of every change:

- ``mrm``: the stack's minimal-risk state on ``/control/mrm_state`` (``std_msgs/String``, the text
  ``<STATE>[: <cause>]...`` of ``lsv_control``'s controller). On while the state is
  ``EMERGENCY_STOP``; ``COMFORTABLE_STOP``, ``STOPPED`` and ``NORMAL`` are off (a comfortable stop is
  exactly what the comfort figures must judge). A controller that dies publishes nothing: the
  chassis source covers that.
- ``ecu``: the simulated chassis ECU's mode. On while it is not AUTO (ESTOP, FAULT after a
  watchdog trip, MANUAL when the commands say ``enable: false``), once it has been AUTO: before the
  stack first engages, the vehicle stands on its parking brake and nothing is left out.

``intervals()`` gives every on-interval as ``comfort.ExcludedInterval`` (one still on: ``end_s`` None).
"""

from __future__ import annotations

from enum import Enum

from lsv_can_bridge.values import STATUS_MODE_AUTO, STATUS_MODE_ESTOP, STATUS_MODE_FAULT, STATUS_MODE_MANUAL
from lsv_sim.comfort import ExcludedInterval

ECU_MODE_NAMES = {STATUS_MODE_MANUAL: "MANUAL", STATUS_MODE_AUTO: "AUTO", STATUS_MODE_ESTOP: "ESTOP",
                  STATUS_MODE_FAULT: "FAULT"}
MAX_INTERVALS = 1000  # a flapping source cannot grow the summary without bound


class MrmState(Enum):
    """The controller's minimal-risk states as published (lsv_control.mrm.MrmState values)."""

    NORMAL = "NORMAL"
    COMFORTABLE_STOP = "COMFORTABLE_STOP"
    EMERGENCY_STOP = "EMERGENCY_STOP"
    STOPPED = "STOPPED"
    UNKNOWN = "UNKNOWN"


def parse_mrm_state(text: str) -> MrmState:
    """The state at the start of a ``/control/mrm_state`` text (UNKNOWN when it names none)."""
    head = text.strip().split(":", 1)[0].split(" ", 1)[0].strip()
    try:
        return MrmState(head)
    except ValueError:
        return MrmState.UNKNOWN


class EmergencyRecorder:
    """The emergency intervals of a run, from the MRM state texts and the ECU modes it is given."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[float, str]] = {}  # source -> (start, cause) while on
        self._closed: list[ExcludedInterval] = []
        self._ecu_engaged = False
        self.unknown_mrm_texts = 0

    def on_mrm_state(self, t_s: float, text: str) -> None:
        """A ``/control/mrm_state`` message received at simulated time ``t_s``."""
        state = parse_mrm_state(text)
        if state is MrmState.UNKNOWN:  # not a state we know: the previous one stands
            self.unknown_mrm_texts += 1
            return
        self._set("mrm", state is MrmState.EMERGENCY_STOP, t_s, f"mrm {text.strip()}")

    def on_ecu_mode(self, t_s: float, mode: int) -> None:
        """The chassis ECU's mode during the step that starts at simulated time ``t_s``."""
        if mode == STATUS_MODE_AUTO:
            self._ecu_engaged = True
        self._set("ecu", self._ecu_engaged and mode != STATUS_MODE_AUTO, t_s,
                  f"chassis ECU mode {ECU_MODE_NAMES.get(mode, str(mode))}")

    def _set(self, source: str, on: bool, t_s: float, cause: str) -> None:
        if on and source not in self._open:
            self._open[source] = (t_s, cause)
        elif not on and source in self._open:
            start, why = self._open.pop(source)
            if len(self._closed) < MAX_INTERVALS:
                self._closed.append(ExcludedInterval(start, t_s, why))

    def intervals(self) -> list[ExcludedInterval]:
        """Every interval so far by start time; those still on end with ``end_s`` None."""
        still = [ExcludedInterval(start, None, why) for start, why in self._open.values()]
        return sorted(self._closed + still, key=lambda iv: iv.start_s)
