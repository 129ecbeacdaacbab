"""The bridge's own watchdog, measured on the running node: the controller goes silent, the
bridge stays up, and the bridge's drive frames turn into braking commands once no fresh
``VehicleCommand`` arrived for ``command_timeout_ms`` (100 ms in ``config/can_bridge.param.yaml``),
at the next tick of its ``command_period_ms`` (20 ms) loop.

Measured on this machine (python-can virtual bus, node in this process, normal scheduling):
first braking frame 103.1-112.6 ms after the bridge received the last command (six runs: 103.1,
110.5, 110.5, 109.3, 110.4, 112.6 ms; the test prints its own), i.e. the timeout plus the phase
of the 20 ms loop (bound: 100 + 20 ms, + 30 ms for scheduling on 2 cores); the frames carry
-3.0 m/s^2 (``timeout_decel_mps2``) and speed limit 0. The chassis' own 200 ms watchdog is not
involved: the chassis keeps receiving valid frames. Pure timing of the selection:
``test_controller.py::test_fresh_command_is_forwarded_until_100_ms_then_braking``.
"""

from __future__ import annotations

import threading
import time

import can
import pytest
import yaml

from lsv_can_bridge import frames
from lsv_can_bridge.bridge_node import CanBridge
from lsv_can_bridge.chassis_config import PACKAGE_ROOT
from lsv_can_bridge.receiver import FrameReceiver
from lsv_can_bridge.values import COMMAND_TIMEOUT, GEAR_DRIVE
from lsv_msgs.msg import VehicleCommand

MS = 1_000_000
PARAMS = PACKAGE_ROOT / "config" / "can_bridge.param.yaml"
CHANNEL = "lsv_can_bridge_watchdog_test"


def test_bridge_brakes_when_the_controller_is_gone_and_the_bridge_is_alive(virtual_bridge) -> None:
    file_params = yaml.safe_load(PARAMS.read_text())["/**"]["ros__parameters"]
    assert file_params["command_timeout_ms"] == pytest.approx(COMMAND_TIMEOUT * 1000)  # 100 ms
    with virtual_bridge(CHANNEL, "can_bridge_watchdog_test") as (bridge, peer, peer_bus, executor):
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        try:
            _measure(bridge, peer, peer_bus)
        finally:
            executor.shutdown()
            spinner.join(2.0)


def _measure(bridge: CanBridge, peer, peer_bus: can.BusABC) -> None:
    """Publish commands, stop, and time the first braking frame after the last command arrived."""
    timeout_ns = int(bridge.params.command_timeout_ms * MS)
    period_ns = int(bridge.params.command_period_ms * MS)
    pub = peer.create_publisher(VehicleCommand, "/can_bridge/input/command", 10)
    cmd = VehicleCommand(mode=0, acceleration_mps2=1.0, speed_limit_mps=3.0, steering_rate_rps=0.3,
                         gear=GEAR_DRIVE, enable=True)
    mm = bridge.config.command("drive")
    receiver = FrameReceiver(bridge.config.commands, ignore_ids=bridge.config.status_ids)
    got: list[tuple[int, float, float]] = []  # (receive time, acceleration, speed limit) of each drive frame
    start = time.monotonic()
    next_pub = start
    while time.monotonic() < start + 1.2:
        if time.monotonic() < start + 0.7 and time.monotonic() >= next_pub:
            pub.publish(cmd)  # the controller, at 50 Hz for 0.7 s; then it is gone
            next_pub += 0.02
        msg = peer_bus.recv(0.001)
        if msg is None:
            continue
        t_rx = time.monotonic_ns()
        st = receiver.update(t_rx, msg.arbitration_id, msg.data)
        assert st is not None, f"bad frame from the bridge: {msg}"
        if msg.arbitration_id == mm.frame_id:
            fields: dict = {}
            frames.signals_to_fields(mm, st.decoded, fields)
            got.append((t_rx, fields["acceleration_mps2"], fields["speed_limit_mps"]))
    t_cmd = bridge.watchdog.last_ns  # when the bridge received the last command
    assert t_cmd is not None
    silent = [f for f in got if f[0] > t_cmd]
    forwarding = [a for t, a, _ in silent if t <= t_cmd + timeout_ns]
    assert forwarding and all(a == pytest.approx(1.0, abs=0.01) for a in forwarding)  # not too early
    t_brake = next(t for t, a, _ in silent if a < 0.0)
    braking = [(a, v) for t, a, v in silent if t >= t_brake]
    assert all(a == pytest.approx(-3.0, abs=0.01) and v == 0.0 for a, v in braking)  # and stays braking
    delay_ms = (t_brake - t_cmd) / MS
    print(f"\nbridge watchdog: first braking frame {delay_ms:.1f} ms after the last VehicleCommand arrived "
          f"(timeout {timeout_ns / MS:.0f} ms, period {period_ns / MS:.0f} ms)")
    assert timeout_ns / MS < delay_ms <= (timeout_ns + period_ns) / MS + 30.0  # 30 ms: scheduling, 2 cores
