"""Status parser: checksum, length, counter, stale, unknown ids, garbage (with a fuzz)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsv_can_bridge import checksums, frames
from lsv_can_bridge.chassis_config import ChassisConfig, load_chassis_config
from lsv_can_bridge.receiver import (
    BAD_CHECKSUM,
    BAD_COUNTER,
    BAD_LENGTH,
    COUNTER_SKIP,
    IGNORED_OWN,
    TIMEOUTS,
    UNKNOWN_ID,
)
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import Command, Status

MS = 1_000_000
GOOD = Status(speed_mps=2.0, mode=1, state_of_charge_pct=50.0, battery_voltage_v=70.0)


def primed(config: ChassisConfig, status: Status = GOOD) -> tuple[StatusParser, dict]:
    parser = StatusParser(config)
    counters: dict[int, int] = {}
    for frame_id, data in frames.build_status_frames(config, status, counters):
        assert parser.update(0, frame_id, data)
    return parser, counters


def first_speed_frame(config: ChassisConfig, status: Status, counters: dict) -> tuple[int, bytes]:
    """The next frame that carries speed_mps (page 0 of chassis B)."""
    return frames.build_status_frames(config, status, counters)[0]


def test_bad_checksum_is_dropped_and_counted(config: ChassisConfig) -> None:
    parser, counters = primed(config)
    frame_id, data = first_speed_frame(config, dataclasses.replace(GOOD, speed_mps=3.0), counters)
    bad = bytearray(data)
    mm = config.status[0]
    bad[mm.checksum_byte] ^= 0x01
    assert not parser.update(1 * MS, frame_id, bytes(bad))
    assert parser.counts[BAD_CHECKSUM] == 1
    assert parser.state(1 * MS).speed_mps == pytest.approx(2.0)


def test_bad_length_is_dropped_and_counted(config: ChassisConfig) -> None:
    parser, counters = primed(config)
    frame_id, data = first_speed_frame(config, dataclasses.replace(GOOD, speed_mps=3.0), counters)
    assert not parser.update(1 * MS, frame_id, data[:7])
    assert not parser.update(1 * MS, frame_id, data + b"\x00")
    assert parser.counts[BAD_LENGTH] == 2
    assert parser.state(1 * MS).speed_mps == pytest.approx(2.0)


def test_repeated_counter_is_dropped_skip_is_counted(config: ChassisConfig) -> None:
    parser, counters = primed(config)
    mm = config.status[0]
    # the same counter again with new content: a frozen sender, not acted on
    counters[mm.frame_id] -= 1  # the next frame repeats the last counter
    frame_id, data = first_speed_frame(config, dataclasses.replace(GOOD, speed_mps=3.0), counters)
    assert not parser.update(1 * MS, frame_id, data)
    assert parser.counts[BAD_COUNTER] == 1
    assert parser.state(1 * MS).speed_mps == pytest.approx(2.0)
    # a jump (lost frames) is accepted and counted
    counters[mm.frame_id] += 3
    frame_id, data = first_speed_frame(config, dataclasses.replace(GOOD, speed_mps=3.0), counters)
    assert parser.update(2 * MS, frame_id, data)
    assert parser.counts[COUNTER_SKIP] == 1
    assert parser.state(2 * MS).speed_mps == pytest.approx(3.0)


def test_message_goes_stale_after_ten_periods(config: ChassisConfig) -> None:
    parser, _ = primed(config)
    # ten periods of the most frequent message (for a multiplexed one: ten periods of each page)
    timeout = min(10 * st.page_timeout_ns for st in parser.receiver.states.values())
    assert not parser.state(timeout).stale
    assert parser.state(timeout + 1).stale
    assert parser.counts[TIMEOUTS] >= 1
    # fresh frames of every message bring it back
    for frame_id, data in frames.build_status_frames(config, GOOD, {}):
        parser.update(timeout + 2, frame_id, data)
    assert not parser.state(timeout + 2).stale


def test_a_missing_page_of_a_multiplexed_message_makes_it_stale() -> None:
    config = load_chassis_config("dbc/lsv_chassis_b.yaml")
    mm = config.status[0]
    parser = StatusParser(config)
    counters: dict[int, int] = {}
    period = mm.period_ns
    now = 0
    for cycle in range(40):
        for frame_id, data in frames.build_status_frames(config, GOOD, counters):
            page = mm.dbc_message.decode(data)[mm.multiplexer]
            if cycle >= 5 and page == 2:
                continue  # the battery/fault page stops; speed and wheel pages keep coming
            parser.update(now, frame_id, data)
            now += period
        if cycle == 4:
            assert not parser.state(now).stale
    assert parser.state(now).stale


def test_unknown_ids_and_own_commands_are_counted_not_used(config: ChassisConfig) -> None:
    parser, _ = primed(config)
    assert not parser.update(0, 0x7AB, bytes(8))
    assert not parser.update(0, config.status[0].frame_id, bytes(8), is_extended=True)
    for frame_id, data in frames.build_command_frames(config, Command(), {}):
        assert not parser.update(0, frame_id, data)
    assert parser.counts[UNKNOWN_ID] == 2
    assert parser.counts[IGNORED_OWN] == len(config.commands)


CONFIGS = {name: load_chassis_config(f"dbc/{name}.yaml") for name in ("lsv_chassis", "lsv_chassis_b")}




def outcomes(parser: StatusParser) -> int:
    """Frames counted by outcome (accepted or one reason), leaving out the extra notes."""
    return sum(v for k, v in parser.receiver.counts.items() if k not in (COUNTER_SKIP, TIMEOUTS))


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(CONFIGS)),
       frames_in=st.lists(st.tuples(st.one_of(st.integers(0, 0x7FF), st.sampled_from([0x201, 0x202, 0x203, 0x204,
                                                                                       0x3A0])),
                                    st.binary(min_size=0, max_size=12), st.booleans()), max_size=30))
def test_fuzz_never_raises_and_never_takes_an_invalid_frame(name: str, frames_in: list) -> None:
    config = CONFIGS[name]
    parser = StatusParser(config)
    for i, (frame_id, data, fix_checksum) in enumerate(frames_in):
        mm = next((m for m in config.status if m.frame_id == frame_id), None)
        if fix_checksum and mm is not None and len(data) == mm.length:
            # make some frames pass the checksum so the counter and decode paths get exercised
            b = bytearray(data)
            b[mm.checksum_byte] = checksums.compute(mm.checksum_fn, b, mm.checksum_byte)
            data = bytes(b)
        before = parser.state(i * MS)
        counts_before = outcomes(parser)
        accepted = parser.update(i * MS, frame_id, data)
        assert outcomes(parser) == counts_before + 1  # every frame has exactly one outcome
        if accepted:
            assert mm is not None and len(data) == mm.length
            assert data[mm.checksum_byte] == checksums.compute(mm.checksum_fn, data, mm.checksum_byte)
        else:
            # a rejected frame changes nothing the stack sees
            after = parser.state(i * MS)
            assert (before is None) == (after is None)
            if before is not None:
                assert dataclasses.replace(after, stale=before.stale) == before


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_bulk_random_frames(name: str) -> None:
    """50 000 random frames on the status ids and around them: no exception, and a frame is
    taken only when an independent check says length and checksum are right."""
    import random

    config = CONFIGS[name]
    rng = random.Random(1234)
    ids = [m.frame_id for m in config.status] + [m.frame_id for m in config.commands] + [0x000, 0x7FF, 0x1FFFFFFF]
    parser = StatusParser(config)
    by_id = {m.frame_id: m for m in config.status}
    accepted = 0
    for i in range(50_000):
        frame_id = rng.choice(ids)
        data = rng.randbytes(rng.choice([8, 8, 8, 0, 1, 7, 9, 64]))
        ok = parser.update(i * MS, frame_id, data, is_extended=frame_id > 0x7FF)
        if ok:
            mm = by_id[frame_id]
            assert len(data) == mm.length
            assert data[mm.checksum_byte] == checksums.compute(mm.checksum_fn, data, mm.checksum_byte)
            accepted += 1
    assert parser.counts[BAD_CHECKSUM] > 1000 and parser.counts[UNKNOWN_ID] > 1000
    assert accepted < 0.01 * 50_000  # about 1 in 256 random payloads carries a right checksum
