"""Turns chassis status frames into a typed ``Status`` (opendbc ``carstate.py`` role). Pure."""

from __future__ import annotations

import dataclasses
from typing import Any

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import ChassisConfig
from lsv_can_bridge.receiver import FrameReceiver
from lsv_can_bridge.values import STALE_PERIODS, Status


class StatusParser:
    """Feed every received frame to ``update``; read ``state(now_ns)`` for the latest status.

    Only frames that pass the receiver's checks change the state; nothing here raises on
    garbage. ``state`` is None until every status message has been received once.
    """

    def __init__(self, config: ChassisConfig, stale_periods: int = STALE_PERIODS):
        self.config = config
        self.receiver = FrameReceiver(config.status, stale_periods, ignore_ids=config.command_ids)
        self._fields: dict[str, Any] = dataclasses.asdict(Status())
        self._fields["wheel_speeds_mps"] = list(self._fields["wheel_speeds_mps"])

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.receiver.counts)

    def update(self, now_ns: int, arbitration_id: int, data: bytes | bytearray, is_extended: bool = False) -> bool:
        """Check and apply one frame; True when it was accepted."""
        st = self.receiver.update(now_ns, arbitration_id, data, is_extended)
        if st is None:
            return False
        frames.signals_to_fields(st.mm, st.decoded or {}, self._fields)
        return True

    def state(self, now_ns: int) -> Status | None:
        """The status as of ``now_ns`` (``stale`` set when a message timed out), or None before
        every status message was seen once."""
        stale = self.receiver.check_timeouts(now_ns)
        if not self.receiver.all_seen():
            return None
        f = self._fields
        return Status(
            speed_mps=float(f["speed_mps"]),
            wheel_speeds_mps=tuple(float(w) for w in f["wheel_speeds_mps"]),  # type: ignore[arg-type]
            steering_angle_rad=float(f["steering_angle_rad"]),
            gear=int(f["gear"]),
            parking_brake=bool(f["parking_brake"]),
            mode=int(f["mode"]),
            fault_bits=int(f["fault_bits"]),
            state_of_charge_pct=float(f["state_of_charge_pct"]),
            battery_voltage_v=float(f["battery_voltage_v"]),
            stale=stale,
        )
