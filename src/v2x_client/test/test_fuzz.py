"""Fuzzing: no input, however broken, raises anything but V2xDecodeError from the codec, or
anything at all from the client core (which must count every drop).

Default size: 100 000 mutated datagrams plus hypothesis cases, ~10-30 s on a laptop core. Set
LSV_V2X_FUZZ_N for a longer run.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsv_v2x_client import samples
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.codec import Codec, V2xDecodeError
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.messages import GeoPoint, LightState, PhaseStep
from lsv_v2x_client.params import params_from_yaml
from lsv_v2x_client.timeref import MINUTE_NS, NS, year_start_ns

N_MUTATIONS = int(os.environ.get("LSV_V2X_FUZZ_N", "100000"))
MOY = 470_000
NOW_NS = year_start_ns(2026) + MOY * MINUTE_NS + 12_000_000_000 + 200_000_000


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def _seeds(codec: Codec) -> list[bytes]:
    msgs = [samples.bsm_message(), samples.bsm_message(emergency=True), samples.spat_message(), samples.rsi_message(),
            samples.rsm_message(), samples.map_message(1)]
    return [codec.encode(m) for m in msgs]


def _decode_only_raises_decode_error(codec: Codec, data: bytes) -> bool:
    try:
        codec.decode(data)
    except V2xDecodeError:
        return False
    return True


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(codec: Codec, data: bytes) -> None:
    _decode_only_raises_decode_error(codec, data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 5), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=8),
       st.integers(0, 400), st.binary(max_size=16))
def test_structured_mutations(codec: Codec, seed: int, flips: list[tuple[int, int]], cut: int, tail: bytes) -> None:
    data = bytearray(_seeds(codec)[seed])
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    data = data[: max(1, len(data) - cut)] + tail
    _decode_only_raises_decode_error(codec, bytes(data))


def _mutants(seeds: list[bytes], n: int, rng: np.random.Generator):
    """Yield n mutants: bit flips, byte replacements, truncations, extensions, splices."""
    ops = rng.integers(0, 5, n)
    which = rng.integers(0, len(seeds) - 1, n)  # the MAP seed (last) is slow to decode: 1 in 100 below
    which[rng.random(n) < 0.01] = len(seeds) - 1
    for i in range(n):
        data = bytearray(seeds[which[i]])
        op = ops[i]
        if op == 0:  # 1-4 bit flips
            for pos in rng.integers(0, len(data) * 8, rng.integers(1, 5)):
                data[pos // 8] ^= 0x80 >> (pos % 8)
        elif op == 1:  # random bytes overwritten
            for pos in rng.integers(0, len(data), rng.integers(1, 4)):
                data[pos] = rng.integers(0, 256)
        elif op == 2:  # truncation
            data = data[: rng.integers(1, len(data))]
        elif op == 3:  # extension with random bytes
            data += rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8).tobytes()
        else:  # splice two messages
            other = seeds[rng.integers(0, len(seeds))]
            cut = rng.integers(1, len(data))
            data = data[:cut] + other[rng.integers(0, len(other)):]
        yield bytes(data)


# The admission limits before decoding lifted: these tests are about the decoder and the checks, not
# about the limiter (test_flood.py), and must reach them with every datagram.
UNLIMITED = {"source_rate_hz": 1e5, "source_burst": 1e5, "total_rate_hz": 1e5, "total_burst": 1e5,
             "decode_budget_bytes_per_s": 1e8, "decode_budget_burst_bytes": 1e8}


def test_mutated_payloads_through_core() -> None:
    """Mutants of valid messages through the whole core (decode, checks, stores, outputs): nothing escapes,
    every datagram is either accepted or counted by reason."""
    core = V2xClientCore(params_from_yaml(**UNLIMITED))
    seeds = _seeds(core.codec)
    core.set_ego(EgoState(0.0, -30.0, math.pi / 2, 4.0, NOW_NS))
    rng = np.random.default_rng(20260)
    accepted = 0
    for i, data in enumerate(_mutants(seeds, N_MUTATIONS, rng)):
        now = NOW_NS + (i % 50) * 1_000_000  # within freshness so mutants get past the time checks
        accepted += core.receive(data, "127.0.0.1:40000", now)
        if i % 2000 == 0:
            core.outputs(now)
            core.set_ego(EgoState(0.0, -30.0, math.pi / 2, 4.0, now))
    dropped = sum(v for k, v in core.drop_counts().items() if k.startswith("dropped."))
    assert core.received == N_MUTATIONS
    assert accepted + dropped == N_MUTATIONS
    assert dropped > N_MUTATIONS // 2  # most mutants are caught ...
    assert accepted > 0  # ... and some still pass as valid messages (flips in payload values)
    assert core.decoded > N_MUTATIONS // 2  # most reach the decoder (the others: first bits or sizes wrong)
    core.outputs(NOW_NS + NS)


# Valid messages with extreme but in-range values: past the decoder, into checks, hints and outputs.
_lat = st.integers(-900_000_000, 900_000_001)
_lon = st.integers(-1_799_999_999, 1_800_000_001)
_near = st.builds(lambda e, n: samples.offset_point(samples.CENTRE, e, n), st.floats(-400, 400), st.floats(-400, 400))
_pos = st.one_of(st.builds(GeoPoint, _lat, _lon, st.one_of(st.none(), st.integers(-4096, 61439))), _near)


@st.composite
def _weird_messages(draw):
    kind = draw(st.sampled_from(["bsm", "rsm", "spat", "rsi"]))
    ms = draw(st.one_of(st.integers(0, 65535), st.integers(11_000, 13_000)))
    if kind == "bsm":
        return dataclasses.replace(samples.bsm_message(draw(st.integers(0, 127)), ms, draw(_pos)),
                                   speed_raw=draw(st.integers(0, 8191)), heading_raw=draw(st.integers(0, 28800)),
                                   width_cm=draw(st.integers(0, 1023)), length_cm=draw(st.integers(0, 4095)),
                                   vehicle_class=draw(st.integers(0, 255)))
    if kind == "rsm":
        ptc = dataclasses.replace(samples.rsm_message().participants[0], sec_mark_ms=ms, position=draw(_near),
                                  speed_raw=draw(st.integers(0, 8191)), heading_raw=draw(st.integers(0, 28800)),
                                  ptc_type=draw(st.sampled_from(["unknown", "motor", "non-motor", "pedestrian",
                                                                 "rsu"])))
        return samples.rsm_message(participants=(ptc,))
    if kind == "spat":
        marks = st.integers(0, 36001)
        step = PhaseStep(draw(st.sampled_from(list(LightState))), draw(st.sampled_from(["counting", "utc", None])),
                         draw(marks), draw(st.one_of(st.none(), marks)), draw(st.one_of(st.none(), marks)),
                         draw(marks))
        spat = samples.spat_message(moy=draw(st.one_of(st.just(MOY), st.integers(0, 527040))), timestamp_ms=ms)
        inter = spat.intersections[0]
        phase = dataclasses.replace(inter.phases[0], steps=(step, *inter.phases[0].steps))
        return dataclasses.replace(spat, intersections=(dataclasses.replace(inter, phases=(phase,)),))
    rsi = samples.rsi_message(moy=draw(st.one_of(st.just(MOY), st.integers(600, 526_000))))  # items: moy +- 600
    ev = dataclasses.replace(rsi.events[0], position=draw(st.one_of(st.none(), _near)),
                             radius_dm=draw(st.one_of(st.none(), st.integers(0, 65535))),
                             end_moy=draw(st.one_of(st.none(), st.integers(0, 527040))))
    return dataclasses.replace(rsi, events=(ev,))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_weird_messages(), min_size=1, max_size=5), st.floats(-math.pi, math.pi), st.floats(0, 20))
def test_extreme_valid_values_through_core(msgs, ego_yaw: float, ego_speed: float) -> None:
    core = _CORE[0] if _CORE else _CORE.append(V2xClientCore(params_from_yaml(**UNLIMITED))) or _CORE[0]
    core.set_ego(EgoState(0.0, -30.0, ego_yaw, ego_speed, NOW_NS))
    core.receive(core.codec.encode(samples.map_message()), "m:1", NOW_NS)
    for msg in msgs:
        core.receive(core.codec.encode(msg), "127.0.0.1:1", NOW_NS)
    out = core.outputs(NOW_NS)
    for h in out.hints:
        assert math.isfinite(h.x) and math.isfinite(h.y) and h.valid_until_ns > 0


_CORE: list[V2xClientCore] = []
