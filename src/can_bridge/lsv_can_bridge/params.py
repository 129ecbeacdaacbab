"""Parameters of the ``can_bridge`` node (pure; loaded by ``lsv_common.node.load_params``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lsv_can_bridge.values import HARD_SPEED_CAP
from lsv_common.params import spec


@dataclass(frozen=True)
class Limits:
    """Command limits the bridge applies to every command (the command gate's last line)."""

    max_steer_angle_rad: float
    max_steer_rate_rps: float
    max_accel_mps2: float
    max_decel_mps2: float
    max_speed_mps: float


@dataclass(frozen=True)
class BusParams:
    """python-can bus configuration: passed to ``can.Bus(**kwargs)`` as is."""

    interface: str
    channel: str
    bitrate: int
    fd: bool = False

    def kwargs(self) -> dict:
        args: dict = {"interface": self.interface, "channel": self.channel}
        if self.interface == "udp_multicast":
            args["fd"] = self.fd  # bitrate means nothing on UDP
        else:
            args["bitrate"] = self.bitrate
            if self.fd:
                args["fd"] = True
        return args


@dataclass(frozen=True, kw_only=True)
class BridgeParams:
    chassis_config: str = field(metadata=spec(
        "chassis mapping YAML (next to its DBC); relative paths resolve against the package folder"))
    bus_interface: str = field(metadata=spec("python-can interface, e.g. socketcan, udp_multicast, virtual",
                                             name="bus.interface"))
    bus_channel: str = field(metadata=spec("python-can channel, e.g. can0, or a multicast group 239.74.163.1",
                                           name="bus.channel"))
    bus_bitrate: int = field(metadata=spec("CAN bitrate", unit="bit/s", min=10_000, max=1_000_000,
                                           name="bus.bitrate"))
    bus_fd: bool = field(default=False, metadata=spec("CAN FD frames on the bus", name="bus.fd", optional=True))
    command_period_ms: float = field(metadata=spec("send period of the command frames", unit="ms",
                                                   min=5.0, max=100.0))
    command_timeout_ms: float = field(metadata=spec(
        "no fresh VehicleCommand for this long -> braking command", unit="ms", min=20.0, max=1000.0))
    timeout_decel_mps2: float = field(metadata=spec("deceleration of the braking command after a timeout",
                                                    unit="m/s^2", min=0.5, max=8.0))
    estop_decel_mps2: float = field(metadata=spec("deceleration of the braking command on an emergency stop",
                                                  unit="m/s^2", min=0.5, max=8.0))
    stale_periods: int = field(metadata=spec("status message missing for this many of its DBC periods -> stale",
                                             min=2, max=100))
    status_rate_hz: float = field(metadata=spec("VehicleStatus publish rate", unit="Hz", min=1.0, max=200.0))
    max_steer_angle_rad: float = field(metadata=spec("front wheel angle limit", unit="rad", min=0.0, max=1.0,
                                                     name="limits.max_steer_angle_rad"))
    max_steer_rate_rps: float = field(metadata=spec("steering rate limit", unit="rad/s", min=0.0, max=5.0,
                                                    name="limits.max_steer_rate_rps"))
    max_accel_mps2: float = field(metadata=spec("acceleration limit", unit="m/s^2", min=0.0, max=5.0,
                                                name="limits.max_accel_mps2"))
    max_decel_mps2: float = field(metadata=spec("deceleration limit (positive)", unit="m/s^2", min=0.5, max=8.0,
                                                name="limits.max_decel_mps2"))
    max_speed_mps: float = field(metadata=spec("speed limit sent to the chassis", unit="m/s", min=0.0,
                                               max=HARD_SPEED_CAP, name="limits.max_speed_mps"))
    realtime_priority: int = field(default=0, metadata=spec(
        "SCHED_FIFO priority of the command loop thread (0 = normal scheduling; needs CAP_SYS_NICE)",
        min=0, max=99, optional=True))
    bus_log_path: str = field(default="", metadata=spec(
        "log every frame to this file ('' = off); .blf or .asc picks python-can's writer",
        name="bus_log.path", optional=True))

    def __post_init__(self) -> None:
        if self.bus_log_path and not self.bus_log_path.endswith((".blf", ".asc")):
            raise ValueError(f"'bus_log.path' must end in .blf or .asc, got {self.bus_log_path!r}")

    @property
    def limits(self) -> Limits:
        return Limits(self.max_steer_angle_rad, self.max_steer_rate_rps, self.max_accel_mps2,
                      self.max_decel_mps2, self.max_speed_mps)

    @property
    def bus(self) -> BusParams:
        return BusParams(self.bus_interface, self.bus_channel, self.bus_bitrate, self.bus_fd)
