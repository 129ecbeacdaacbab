"""Fuzzing: no input, however broken, raises anything but V2xDecodeError from the codec, or
anything at all from the client core (which must count every drop).

Default size: 100 000 mutated datagrams plus hypothesis cases, ~10-30 s on a laptop core. Set
LSV_V2X_FUZZ_N for a longer run.
"""

from __future__ import annotations

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


def test_mutated_payloads_through_core() -> None:
    """Mutants of valid messages through the whole core (decode, checks, stores, outputs): nothing escapes,
    every datagram is either accepted or counted by reason."""
    core = V2xClientCore(params_from_yaml())
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
    core.outputs(NOW_NS + NS)
