"""V2X flood (safety review item 5): what a flood of datagrams may cost the client core.

The ASN.1 decode is pure Python (~0.03 ms for a BSM, ~7 ms for a 4.5 kB MAP), so the cost of
a flood is counted in decode calls, not in time: rate limits (per UDP sender and for all
senders together, in datagrams and in undecoded bytes) and the size checks come before the
decode, and a MAP seen before is not decoded again.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from lsv_v2x_client import hints as H
from lsv_v2x_client import samples, timeref
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.params import params_from_yaml

NS = timeref.NS
MS = timeref.MS
MOY = 470_000
MSG_NS = timeref.year_start_ns(2026) + MOY * timeref.MINUTE_NS + 12_000 * MS  # the samples' time

# The defaults of config/v2x_client.param.yaml these bounds follow from:
SOURCE_BURST, SOURCE_RATE_HZ = 100, 200.0  # datagrams per UDP sender
TOTAL_BURST, TOTAL_RATE_HZ = 200, 400.0  # datagrams, all senders
BYTES_BURST, BYTES_PER_S = 32_768, 65_536  # undecoded bytes, all senders


class Counting:
    """Wraps ``core.codec.decode``: how often and on how many bytes the decoder ran."""

    def __init__(self, core: V2xClientCore):
        self.calls = 0
        self.bytes = 0
        self._decode = core.codec.decode
        core.codec.decode = self

    def __call__(self, data: bytes):
        self.calls += 1
        self.bytes += len(data)
        return self._decode(data)


def make_core() -> tuple[V2xClientCore, Counting]:
    core = V2xClientCore(params_from_yaml())
    core.set_ego(EgoState(0.0, -30.0, math.pi / 2, 4.0, MSG_NS))
    return core, Counting(core)


def bsm_datagrams(core: V2xClientCore, n: int) -> list[bytes]:
    """``n`` different valid BSMs (128 counters x vehicle ids)."""
    out = []
    for i in range(n):
        m = dataclasses.replace(samples.bsm_message(msg_count=i % 128), vehicle_id=f"V{i:07d}".encode())
        out.append(core.codec.encode(m))
    return out


def test_v2x_flood_from_one_source_costs_at_most_its_burst_of_decodes() -> None:
    core, counting = make_core()
    data = bsm_datagrams(core, 1000)
    for i, d in enumerate(data):  # 1000 datagrams within 50 ms from one sender
        core.receive(d, "10.0.0.66:4000", MSG_NS + i * 50 * MS // 1000)
    assert counting.calls <= SOURCE_BURST + SOURCE_RATE_HZ * 0.05 + 1, counting.calls
    assert core.drop_counts()["dropped.source_rate_limited"] >= 1000 - counting.calls - 1


def test_v2x_flood_from_many_sources_costs_at_most_the_global_budget() -> None:
    core, counting = make_core()
    data = bsm_datagrams(core, 1000)
    for i, d in enumerate(data):  # 1000 datagrams within 50 ms, each from another port
        core.receive(d, f"10.0.0.66:{10000 + i}", MSG_NS + i * 50 * MS // 1000)
    assert counting.calls <= TOTAL_BURST + TOTAL_RATE_HZ * 0.05 + 1, counting.calls
    assert core.drop_counts()["dropped.over_budget"] >= 1000 - counting.calls - 1


def test_v2x_flood_of_large_datagrams_costs_at_most_the_decode_byte_budget() -> None:
    core, counting = make_core()
    maps = [core.codec.encode(samples.map_message(10, msg_count=k)) for k in range(60)]  # 4.5 kB, all different
    assert all(len(m) > 4000 for m in maps) and len(set(maps)) == len(maps)
    for i, d in enumerate(maps):  # 60 new 10-intersection MAPs within 1 s, each from another sender
        core.receive(d, f"10.0.0.{i}:30300", MSG_NS + i * NS // 60)
    assert counting.bytes <= BYTES_BURST + BYTES_PER_S + len(maps[0]), counting.bytes
    assert counting.calls <= 25
    assert core.drop_counts()["dropped.decode_budget"] >= 60 - counting.calls


def test_oversized_datagrams_are_rejected_without_decoding() -> None:
    core, counting = make_core()
    bsm = core.codec.encode(samples.bsm_message())
    # a "BSM" of 5 kB (the MessageFrame choice bits say bsmFrame): no BSM is that long
    assert not core.receive(bsm + bytes(5000), "10.0.0.1:1", MSG_NS)
    # longer than any datagram may be
    assert not core.receive(bytes(20_000), "10.0.0.1:1", MSG_NS)
    assert counting.calls == 0
    assert core.drop_counts()["dropped.oversized"] == 2
    # a MessageFrame alternative of a later version, recognised from its first bit: not decoded either
    assert not core.receive(b"\x85" + bytes([len(bsm)]) + bsm, "10.0.0.1:1", MSG_NS)
    assert counting.calls == 0 and core.drop_counts()["dropped.unsupported"] == 1
    # a MAP may be long, and is decoded
    assert core.receive(core.codec.encode(samples.map_message(10)), "10.0.0.1:1", MSG_NS)
    assert counting.calls == 1


def test_identical_map_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    core, counting = make_core()
    lanes_per_node = len(H.map_geometry(samples.map_message(1), core.projection))
    builds = []
    real = H.map_geometry
    monkeypatch.setattr(H, "map_geometry", lambda *a, **k: builds.append(1) or real(*a, **k))
    payload = core.codec.encode(samples.map_message(10))
    for k in range(20):  # an RSU repeats its MAP every second
        assert core.receive(payload, "10.0.0.1:30300", MSG_NS + k * NS)
    assert counting.calls == 1 and len(builds) == 1
    assert len(core._lanes) == 10 * lanes_per_node
    # a changed MAP is decoded and the lanes rebuilt
    assert core.receive(core.codec.encode(samples.map_message(9)), "10.0.0.1:30300", MSG_NS + 21 * NS)
    assert counting.calls == 2


def test_a_flooding_source_leaves_the_road_side_unit_its_messages() -> None:
    core, counting = make_core()
    flood = bsm_datagrams(core, 200)
    accepted = 0
    for step in range(20):  # 2 s: 2000 datagrams/s from the flooder, 10 Hz SPaT from the RSU
        now = MSG_NS + step * 100 * MS
        for i in range(200):
            core.receive(flood[i], "10.0.0.66:4000", now + i * 100 * MS // 200)
        spat = samples.spat_message(msg_count=step, timestamp_ms=12_000 + step * 100)
        accepted += core.receive(core.codec.encode(spat), "192.168.1.20:30300", now + 99 * MS)
    assert accepted == 20
    assert counting.calls <= SOURCE_BURST + SOURCE_RATE_HZ * 2.0 + 20 + 1
