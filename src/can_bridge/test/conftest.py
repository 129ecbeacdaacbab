"""Fixtures of the lsv_can_bridge unit tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import can
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from lsv_can_bridge.bridge_node import CanBridge
from lsv_can_bridge.chassis_config import PACKAGE_ROOT, ChassisConfig, load_chassis_config

PARAMS = PACKAGE_ROOT / "config" / "can_bridge.param.yaml"

CHASSIS_FILES = ("dbc/lsv_chassis.yaml", "dbc/lsv_chassis_b.yaml")


@pytest.fixture(params=CHASSIS_FILES, ids=["chassis_a", "chassis_b"])
def config(request: pytest.FixtureRequest) -> ChassisConfig:
    return load_chassis_config(request.param)


@pytest.fixture
def virtual_bridge() -> Callable[..., Any]:
    """``with virtual_bridge(channel, peer_name, "name:=value", ...) as (bridge, peer, peer_bus, executor)``:
    the CanBridge node with its shipped parameters on python-can's in-process ``virtual`` bus ``channel``
    (normal scheduling), a peer node for the test's topics and the peer's end of the bus, in one executor;
    all shut down at the end."""

    @contextlib.contextmanager
    def start(channel: str, peer_name: str, *params: str) -> Iterator[tuple]:
        extra = [arg for p in params for arg in ("-p", p)]
        rclpy.init(args=["--ros-args", "--params-file", str(PARAMS), "-p", "bus.interface:=virtual",
                         "-p", f"bus.channel:={channel}", "-p", "realtime_priority:=0", *extra])
        peer_bus = can.Bus(interface="virtual", channel=channel)
        bridge = CanBridge()
        peer = rclpy.create_node(peer_name)
        executor = SingleThreadedExecutor()
        executor.add_node(bridge)
        executor.add_node(peer)
        try:
            yield bridge, peer, peer_bus, executor
        finally:
            executor.shutdown()
            bridge.close()
            bridge.destroy_node()
            peer.destroy_node()
            peer_bus.shutdown()
            rclpy.try_shutdown()

    return start
