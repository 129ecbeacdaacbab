"""scripts/netns_sandbox.sh, the private network namespace that `make test` and `make suite`
run in: only loopback, multicast routed on it, and no ephemeral port that the stack binds.

Every process of the stack holds two ephemeral UDP ports (Fast DDS send sockets). With Linux's
default range (32768-60999), one of them can take a fixed port before the stack binds it: python-can's
udp_multicast port or a V2X port. That happened once in about 400 suite runs: the CAN bridge and the
simulator both failed with "could not create or configure socket". Inside the sandbox the ephemeral
range starts above every fixed port.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from can.interfaces.udp_multicast import UdpMulticastBus

from lsv_bringup.suite import Slot, can_isolate

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "netns_sandbox.sh"
V2X_DEFAULT_PORT = 30300  # launch/stack.launch.yaml, src/v2x_client/config/v2x_client.param.yaml


def fixed_ports() -> set[int]:
    """UDP ports the stack binds by number: the CAN bus in simulation, V2X by default and in the suite."""
    can_port = inspect.signature(UdpMulticastBus.__init__).parameters["port"].default
    suite_v2x = {Slot(index, base).v2x_port for base in range(0, 2000) for index in range(16)}
    return {can_port, V2X_DEFAULT_PORT} | suite_v2x


def in_sandbox(*cmd: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LSV_IN_NETNS"}  # nest a fresh namespace
    return subprocess.run([str(SCRIPT), *cmd], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def sandbox():
    if not can_isolate(ROOT):
        pytest.skip("no private network namespace here (needs root or unprivileged user namespaces)")


def test_the_fixed_ports_are_what_the_launch_files_say():
    assert f'default: "{V2X_DEFAULT_PORT}"' in (ROOT / "launch" / "stack.launch.yaml").read_text()
    assert 43113 in fixed_ports()


def test_ephemeral_range_in_the_sandbox_starts_above_every_fixed_port(sandbox):
    r = in_sandbox("cat", "/proc/sys/net/ipv4/ip_local_port_range")
    assert r.returncode == 0, r.stderr
    low, high = map(int, r.stdout.split())
    assert low > max(fixed_ports()), (low, high)
    assert high - low >= 5000, "too few ephemeral ports left"


def test_sockets_bound_to_port_zero_never_get_a_fixed_port(sandbox):
    code = ("import socket\n"
            "socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2000)]\n"
            "for s in socks: s.bind(('127.0.0.1', 0))\n"
            "print(' '.join(str(s.getsockname()[1]) for s in socks))\n")
    r = in_sandbox(sys.executable, "-c", code)
    assert r.returncode == 0, r.stderr
    ports = {int(p) for p in r.stdout.split()}
    assert len(ports) == 2000
    assert not ports & fixed_ports()


def test_loopback_carries_multicast_in_the_sandbox(sandbox):
    code = ("import can\n"
            "a = can.Bus(interface='udp_multicast', channel='239.74.1.1')\n"
            "b = can.Bus(interface='udp_multicast', channel='239.74.1.1')\n"
            "a.send(can.Message(arbitration_id=0x123, data=b'\\x01\\x02', is_extended_id=False))\n"
            "m = b.recv(2.0)\n"
            "print(hex(m.arbitration_id) if m else 'none')\n"
            "a.shutdown(); b.shutdown()\n")
    r = in_sandbox(sys.executable, "-c", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "0x123"
