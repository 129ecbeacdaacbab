"""``rsu`` node: a simulated road-side unit sending UPER V2X datagrams to the v2x_client.

Sends to ``target_address:target_port`` (127.0.0.1 by default: never off this machine) every
``period_s`` what ``lsv_sim.rsu.SimulatedRsu`` broadcasts at the ROS clock's now (sim time
works), optionally behind an OBU framing header of ``header_length`` zero bytes, each message
signed (``sign``, default true) with the TEST-ONLY key of ``lsv_sim.rsu`` in the envelope of
``lsv_v2x_client.security``: the v2x_client's simulator trust store knows it (on simulated time).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from rclpy.node import Node

from lsv_common.node import OK, Diagnostics, load_params, run_node, status
from lsv_common.params import spec
from lsv_sim.rsu import RsuParams, RsuSigner, SimulatedRsu


@dataclass(frozen=True)
class RsuNodeParams:
    target_address: str = field(default="127.0.0.1", metadata=spec("where the OBU would forward to",
                                                                   optional=True))
    target_port: int = field(default=30300, metadata=spec("v2x_client UDP port", min=1, max=65535, optional=True))
    period_s: float = field(default=0.1, metadata=spec("send period", unit="s", min=0.01, max=1.0, optional=True))
    header_length: int = field(default=0, metadata=spec("OBU framing header", unit="bytes", min=0, max=64,
                                                        optional=True))
    profile: str = field(default="csae53", metadata=spec("V2X message set", optional=True))
    sign: bool = field(default=True, metadata=spec(
        "sign every message with the TEST-ONLY key of lsv_sim.rsu (false: bare UPER, unauthenticated)",
        optional=True))
    centre_lat_deg: float = field(default=RsuParams.centre_lat_deg, metadata=spec(
        "intersection centre latitude", unit="deg", min=-89.9, max=89.9, optional=True))
    centre_lon_deg: float = field(default=RsuParams.centre_lon_deg, metadata=spec(
        "intersection centre longitude", unit="deg", min=-180.0, max=180.0, optional=True))


class RsuNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("rsu", **node_kwargs)
        from lsv_v2x_client.codec import Codec

        self.params = load_params(self, RsuNodeParams)
        p = self.params
        self.rsu = SimulatedRsu(RsuParams(p.centre_lat_deg, p.centre_lon_deg))
        self.codec = Codec(p.profile)
        self.signer = RsuSigner() if p.sign else None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sent = 0
        self._errors = 0
        self.create_timer(p.period_s, self._on_timer)
        self._diagnostics = Diagnostics(self, lambda: [status("udp", OK, "sending", {
            "sent": self._sent, "send_errors": self._errors})])

    def close(self) -> None:
        self._sock.close()

    def _on_timer(self) -> None:
        p = self.params
        header = bytes(p.header_length)
        now_ns = self.get_clock().now().nanoseconds
        for msg in self.rsu.messages(now_ns):
            try:
                payload = self.codec.encode(msg)
                if self.signer is not None:
                    payload = self.signer.sign(payload, msg, now_ns)
                self._sock.sendto(header + payload, (p.target_address, p.target_port))
                self._sent += 1
            except OSError as err:  # nobody listening yet, network down: keep sending
                self._errors += 1
                self.get_logger().warning(f"send failed: {err}", throttle_duration_sec=5.0)


def main(args: list[str] | None = None) -> int:
    return run_node(RsuNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
