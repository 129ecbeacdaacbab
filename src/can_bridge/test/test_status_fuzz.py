"""Fuzzing the status path (frames -> ``StatusParser`` -> the ``Status`` the node publishes).

Every frame is judged by an independent oracle written here from the DBC alone: its own bit
extraction (Intel and Motorola), its own checksums, its own counter rule. The parser must take
exactly the frames the oracle calls valid, count every other one under the right reason, and
the state the controller reads must never hold a value outside the DBC range or a NaN.

Frames: random ids (status, our own commands, anything, extended), random lengths, random
bytes, and 'near-valid' frames (right counter and checksum recomputed) with random signal
values, values inside the DBC range, on its limits and just outside it, and bad checksums.
The bulk run is a seeded numpy generator of 100 000 frames per chassis (about 2 s each); a
hypothesis test adds a few hundred structured sequences of up to 40 frames.

Time advances 0.5 us per frame, so no message times out during a run (timeouts are tested in
``test_status_parser.py``) and the counter rule is exact: a repeated counter is refused once
the message (every page of a multiplexed one) has been taken.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsv_can_bridge.chassis_config import PACKAGE_ROOT, ChassisConfig, MessageMap, load_chassis_config
from lsv_can_bridge.receiver import (
    ACCEPTED,
    BAD_CHECKSUM,
    BAD_COUNTER,
    BAD_LENGTH,
    COUNTER_SKIP,
    IGNORED_OWN,
    NON_FINITE,
    OUT_OF_RANGE,
    UNDECODABLE,
    UNKNOWN_ID,
)
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import BOOL_FIELDS, INT_FIELDS

STEP_NS = 500  # ns between frames: 100 000 frames take 50 ms, less than any timeout
CONTENT = "content"  # NON_FINITE or OUT_OF_RANGE: which one depends on the parser's signal order
INVALID = (BAD_LENGTH, BAD_CHECKSUM, UNDECODABLE, CONTENT, BAD_COUNTER)


# --- the oracle ---------------------------------------------------------------------------------

def _crc8(poly: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


_CRC = {"crc8_j1850": _crc8(0x1D), "crc8_autosar": _crc8(0x2F)}  # both init 0xFF, xor-out 0xFF


def oracle_checksum(algorithm: str, body: bytes) -> int:
    if algorithm == "xor8":
        return int(np.bitwise_xor.reduce(np.frombuffer(body, np.uint8), initial=0))
    if algorithm == "sum8":
        return sum(body) & 0xFF
    crc, table = 0xFF, _CRC[algorithm]
    for b in body:
        crc = table[crc ^ b]
    return crc ^ 0xFF


@dataclass(frozen=True)
class Layout:
    """Where a DBC signal's bits are: ``positions[k]`` is the (byte, bit) of raw bit k (LSB first)."""

    name: str
    positions: tuple[tuple[int, int], ...]
    signed: bool
    is_float: bool
    scale: float
    offset: float
    lo: float  # DBC range widened by a millionth of the scale; +-inf when not declared
    hi: float
    dbc_min: float  # the DBC range as declared (+-inf when not)
    dbc_max: float
    pages: frozenset[int] | None  # multiplexer values it belongs to; None: every frame

    @classmethod
    def of(cls, sig: Any) -> Layout:
        """The layout of cantools signal ``sig``."""
        if sig.byte_order == "little_endian":
            bits = [sig.start + k for k in range(sig.length)]
        else:  # Motorola: the DBC start bit is the MSB; the next lower bit wraps to the next byte's bit 7
            bits, p = [], sig.start
            for _ in range(sig.length):
                bits.append(p)
                p = p + 15 if p % 8 == 0 else p - 1
            bits.reverse()
        tol = abs(sig.scale) * 1e-6
        return cls(sig.name, tuple((b // 8, b % 8) for b in bits), sig.is_signed, sig.is_float, sig.scale,
                   sig.offset, -math.inf if sig.minimum is None else sig.minimum - tol,
                   math.inf if sig.maximum is None else sig.maximum + tol,
                   -math.inf if sig.minimum is None else float(sig.minimum),
                   math.inf if sig.maximum is None else float(sig.maximum),
                   frozenset(sig.multiplexer_ids) if sig.multiplexer_ids else None)

    @property
    def capacity(self) -> tuple[int, int]:
        n = len(self.positions)
        return (-(1 << (n - 1)), (1 << (n - 1)) - 1) if self.signed and not self.is_float else (0, (1 << n) - 1)

    @property
    def window(self) -> tuple[int, int]:
        """Raw values inside the DBC range (integer signals)."""
        cap_lo, cap_hi = self.capacity
        a, b = sorted(((self.lo - self.offset) / self.scale, (self.hi - self.offset) / self.scale))
        return max(cap_lo, math.ceil(a)) if math.isfinite(a) else cap_lo, \
            min(cap_hi, math.floor(b)) if math.isfinite(b) else cap_hi

    def raw(self, data: np.ndarray) -> np.ndarray:
        """(N,) int64 raw values from (N, length) uint8 payloads."""
        raw = np.zeros(len(data), np.int64)
        for k, (byte, bit) in enumerate(self.positions):
            raw |= ((data[:, byte] >> bit) & 1).astype(np.int64) << k
        n = len(self.positions)
        if self.signed and not self.is_float:
            raw = np.where(raw >= 1 << (n - 1), raw - (1 << n), raw)
        return raw

    def physical(self, raw: np.ndarray) -> np.ndarray:
        if self.is_float:
            assert len(self.positions) == 32
            with np.errstate(invalid="ignore"):  # NaN payloads are the point
                return raw.astype(np.uint32).view(np.float32).astype(np.float64)
        return raw * self.scale + self.offset

    def put(self, data: np.ndarray, rows: np.ndarray, raw: np.ndarray) -> None:
        u = raw.astype(np.int64) & ((1 << len(self.positions)) - 1)
        for k, (byte, bit) in enumerate(self.positions):
            data[rows, byte] = (data[rows, byte] & (0xFF ^ (1 << bit))) | (((u >> k) & 1) << bit).astype(np.uint8)


class Oracle:
    """What the status path must do with each frame, from the DBC alone."""

    def __init__(self, config: ChassisConfig):
        self.config = config
        self.msgs = {(m.frame_id, m.is_extended): m for m in config.status}
        self.layouts = {m.name: {s.name: Layout.of(s) for s in m.dbc_message.signals} for m in config.status}
        self.last: dict[str, int] = {}
        self.pages_seen: dict[str, set[int]] = {m.name: set() for m in config.status}
        for m in config.status:  # the counter and checksum can hold nothing outside their ranges
            for name in (m.counter, m.checksum):
                lay = self.layouts[m.name][name]
                assert lay.window == lay.capacity, name

    def content(self, mm: MessageMap, data: np.ndarray) -> np.ndarray:
        """(N,) reason per (N, length) payload: UNDECODABLE, CONTENT or '' (fine)."""
        lays = self.layouts[mm.name]
        page = lays[mm.multiplexer].raw(data) if mm.multiplexer else None
        out = np.full(len(data), "", dtype=object)
        bad = np.zeros(len(data), bool)
        for lay in lays.values():
            applies = np.ones(len(data), bool) if lay.pages is None else np.isin(page, list(lay.pages))
            v = lay.physical(lay.raw(data))
            with np.errstate(invalid="ignore"):
                bad |= applies & (~np.isfinite(v) | (v < lay.lo) | (v > lay.hi))
        out[bad] = CONTENT
        if mm.multiplexer:
            out[~np.isin(page, list(mm.pages))] = UNDECODABLE
        return out

    def counter_of(self, mm: MessageMap, data: bytes) -> int:
        return int(self.layouts[mm.name][mm.counter].raw(np.frombuffer(data, np.uint8)[None, :])[0])

    def fresh(self, mm: MessageMap) -> bool:
        if mm.pages:
            return self.pages_seen[mm.name] >= set(mm.pages)
        return mm.name in self.last

    def expect(self, frame_id: int, is_extended: bool, data: bytes, content: str | None = None) -> tuple[str, bool]:
        """(ACCEPTED or the reason, counter skipped) for the next frame; the oracle's own counter
        state advances on an accepted frame. ``content``: ``self.content`` of this frame if known."""
        mm = self.msgs.get((frame_id, is_extended))
        if mm is None:
            return (IGNORED_OWN if frame_id in self.config.command_ids else UNKNOWN_ID), False
        if len(data) != mm.length:
            return BAD_LENGTH, False
        body = data[:mm.checksum_byte] + data[mm.checksum_byte + 1:]
        if data[mm.checksum_byte] != oracle_checksum(mm.checksum_algorithm, body):
            return BAD_CHECKSUM, False
        if content is None:
            content = self.content(mm, np.frombuffer(data, np.uint8)[None, :])[0]
        if content:
            return content, False
        counter = self.counter_of(mm, data)
        fresh = self.fresh(mm)
        if fresh and counter == self.last[mm.name]:
            return BAD_COUNTER, False
        skipped = fresh and counter != (self.last[mm.name] + 1) % mm.counter_modulo
        self.last[mm.name] = counter
        if mm.multiplexer:
            self.pages_seen[mm.name].add(int(self.layouts[mm.name][mm.multiplexer].raw(
                np.frombuffer(data, np.uint8)[None, :])[0]))
        return ACCEPTED, skipped

    def field_bounds(self) -> dict[tuple[str, int | None], tuple[float, float]]:
        """What the DBC range of each plain (not enum, bit or bool) signal allows its field to hold."""
        out = {}
        for mm in self.config.status:
            for sm in mm.signals:
                if sm.bits or sm.values or sm.field in INT_FIELDS | BOOL_FIELDS:
                    continue
                lay = self.layouts[mm.name][sm.signal]
                a, b = sorted(((lay.lo - sm.offset) / sm.scale, (lay.hi - sm.offset) / sm.scale))
                out[(sm.field, sm.index)] = (a - 1e-9, b + 1e-9)
        return out


def assert_controller_sees_only_dbc_values(parser: StatusParser, now_ns: int, bounds: dict) -> None:
    state = parser.state(now_ns)
    if state is None:
        return
    for (name, index), (lo, hi) in bounds.items():
        v = getattr(state, name) if index is None else getattr(state, name)[index]
        assert math.isfinite(v) and lo <= v <= hi, f"{name}[{index}] = {v} reached the controller"


def test_the_oracle_agrees_with_the_dbc_on_valid_frames(config: ChassisConfig) -> None:
    """The oracle's bit extraction and checksums against cantools and published check values."""
    assert oracle_checksum("crc8_j1850", b"123456789") == 0x4B  # CRC-8/SAE-J1850 check value
    assert oracle_checksum("crc8_autosar", b"123456789") == 0xDF  # CRC-8/AUTOSAR check value
    oracle = Oracle(config)
    rng = np.random.default_rng(7)
    for mm in config.status:
        data = rng.integers(0, 256, (500, mm.length), dtype=np.uint8)
        for page in mm.pages or (None,):
            if page is not None:
                oracle.layouts[mm.name][mm.multiplexer].put(data, np.arange(500), np.full(500, page))
            for row in data:
                decoded = mm.dbc_message.decode(bytes(row), decode_choices=False)
                for name, value in decoded.items():
                    lay = oracle.layouts[mm.name][name]
                    assert lay.physical(lay.raw(row[None, :]))[0] == pytest.approx(value, rel=1e-12, abs=1e-12)


# --- chassis under test: the two shipped ones, and chassis A with an IEEE float speed -------------

def float_chassis(tmp: Path) -> ChassisConfig:
    dbc = (PACKAGE_ROOT / "dbc" / "lsv_chassis.dbc").read_text().replace(
        'SG_ VEHICLE_STATUS_Speed : 0|16@1- (0.01,0) [-20|20] "m/s" STACK\n'
        ' SG_ VEHICLE_STATUS_SteerAngle : 16|16@1- (0.0001,0) [-1|1] "rad" STACK',
        'SG_ VEHICLE_STATUS_Speed : 0|32@1- (1,0) [-20|20] "m/s" STACK\n'
        ' SG_ VEHICLE_STATUS_SteerAngle : 38|14@1- (0.0001,0) [-0.8|0.8] "rad" STACK')
    (tmp / "lsv_chassis.dbc").write_text(dbc + "\nSIG_VALTYPE_ 513 VEHICLE_STATUS_Speed : 1;\n")
    (tmp / "float.yaml").write_text((PACKAGE_ROOT / "dbc" / "lsv_chassis.yaml").read_text())
    return load_chassis_config(tmp / "float.yaml")


def chassis(name: str, tmp: Path) -> ChassisConfig:
    return float_chassis(tmp) if name == "chassis_a_float_speed" else load_chassis_config(f"dbc/{name}.yaml")


SHIPPED = ["lsv_chassis", "lsv_chassis_b"]


# --- the bulk run -------------------------------------------------------------------------------

KINDS = ("foreign", "own", "bad_length", "random", "near_valid", "in_range", "out_of_range", "bad_checksum")
WEIGHTS = (0.08, 0.04, 0.06, 0.12, 0.20, 0.38, 0.07, 0.05)
FIXED = {"near_valid", "in_range", "out_of_range", "bad_checksum"}  # counter and checksum set per frame


def generate(config: ChassisConfig, oracle: Oracle, n: int, seed: int) -> dict:
    """n frames: ids, extended flags, lengths, (n, 64) payloads, kinds, counter policies."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(len(KINDS), n, p=WEIGHTS)
    msg = rng.integers(0, len(config.status), n)
    ids = np.array([m.frame_id for m in config.status])[msg]
    ext = np.zeros(n, bool)
    foreign = kind == KINDS.index("foreign")
    nf = int(foreign.sum())
    ext[foreign] = rng.random(nf) < 0.2
    ids[foreign] = np.where(ext[foreign], rng.integers(0, 1 << 29, nf), rng.integers(0, 0x800, nf))
    own = kind == KINDS.index("own")
    ids[own] = rng.choice(sorted(config.command_ids), own.sum())
    lengths = np.array([m.length for m in config.status])[msg]
    bad_len = kind == KINDS.index("bad_length")
    lengths[bad_len] = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 32, 48, 64], bad_len.sum())
    lengths[foreign | own] = rng.choice([0, 2, 8, 8, 8, 64], (foreign | own).sum())
    data = rng.integers(0, 256, (n, 64), dtype=np.uint8)
    for mi, mm in enumerate(config.status):  # signal values inside the range, on it, or one outside it
        for k in ("in_range", "out_of_range", "bad_checksum"):
            rows = np.flatnonzero((msg == mi) & (kind == KINDS.index(k)))
            page = rng.choice(mm.pages, len(rows)) if mm.pages else None
            lays = [lay for name, lay in oracle.layouts[mm.name].items() if name not in (mm.counter, mm.checksum)]
            for lay in lays:
                sel = rows if lay.pages is None else rows[np.isin(page, list(lay.pages))]
                if lay.name == mm.multiplexer:
                    lay.put(data, rows, page)
                elif lay.is_float:
                    lay.put(data, sel, rng.uniform(max(lay.dbc_min, -1e3), min(lay.dbc_max, 1e3), len(sel)).astype(
                        np.float32).view(np.uint32).astype(np.int64))
                else:
                    lo, hi = lay.window
                    raw = rng.integers(lo, hi + 1, len(sel))
                    edge = rng.random(len(sel))
                    raw = np.where(edge < 0.05, lo, np.where(edge > 0.95, hi, raw))
                    lay.put(data, sel, raw)
            if k != "out_of_range":
                continue
            for j, r in enumerate(rows):  # one signal that can be out of range, pushed out
                p = page[j] if mm.pages else None
                cands = [lay for lay in lays if (lay.pages is None or p in lay.pages) and lay.name != mm.multiplexer
                         and (lay.is_float or lay.window != lay.capacity)]
                if not cands:
                    continue  # e.g. a message of one-bit flags: nothing can be out of range
                lay = cands[rng.integers(len(cands))]
                if lay.is_float:
                    bad = rng.choice([np.nan, np.inf, -np.inf, lay.hi + 1.0, lay.lo - 1.0])
                    raw = np.array([bad], np.float32).view(np.uint32).astype(np.int64)
                else:
                    (cl, ch), (wl, wh) = lay.capacity, lay.window
                    outside = ([int(rng.integers(cl, wl))] if wl > cl else []) + \
                        ([int(rng.integers(wh + 1, ch + 1))] if wh < ch else [])
                    raw = np.array([outside[rng.integers(len(outside))]])
                lay.put(data, np.array([r]), raw)
    content = np.full(n, "", dtype=object)
    for mi, mm in enumerate(config.status):
        rows = np.flatnonzero(msg == mi)
        content[rows] = oracle.content(mm, data[rows, :mm.length])
    return {"ids": ids, "ext": ext, "lengths": lengths, "data": data, "kind": kind, "content": content,
            "policy": rng.choice(3, n, p=(0.85, 0.08, 0.07)), "random_counter": rng.integers(0, 1 << 16, n),
            "cks_flip": rng.integers(1, 256, n)}


def put_counter(oracle: Oracle, mm: MessageMap, buf: bytearray, counter: int) -> None:
    for k, (byte, bit) in enumerate(oracle.layouts[mm.name][mm.counter].positions):
        buf[byte] = (buf[byte] & (0xFF ^ (1 << bit))) | (((counter >> k) & 1) << bit)


def run_bulk(config: ChassisConfig, n: int, seed: int) -> dict:
    oracle = Oracle(config)
    assert n * STEP_NS < min(10 * m.period_ns for m in config.status)  # nothing times out during the run
    g = generate(config, oracle, n, seed)
    parser = StatusParser(config)
    bounds = oracle.field_bounds()
    expected: Counter[str] = Counter()
    reached: Counter[str] = Counter()  # expected outcome of every frame the parser took
    mismatches = []
    for i in range(n):
        fid, ext, length, kind = int(g["ids"][i]), bool(g["ext"][i]), int(g["lengths"][i]), KINDS[g["kind"][i]]
        buf = bytearray(g["data"][i, :length].tobytes())
        mm = oracle.msgs.get((fid, ext))
        if mm is not None and kind in FIXED and length == mm.length:
            last = oracle.last.get(mm.name, -1)
            policy = g["policy"][i]
            counter = (last + 1 if policy == 0 else last if policy == 1 else g["random_counter"][i]) % mm.counter_modulo
            put_counter(oracle, mm, buf, int(counter))
            body = bytes(buf[:mm.checksum_byte] + buf[mm.checksum_byte + 1:])
            buf[mm.checksum_byte] = oracle_checksum(mm.checksum_algorithm, body) ^ (
                int(g["cks_flip"][i]) if kind == "bad_checksum" else 0)
        data = bytes(buf)
        outcome, skipped = oracle.expect(fid, ext, data, None if kind in ("foreign", "own") else g["content"][i])
        expected[outcome] += 1
        expected[COUNTER_SKIP] += skipped
        now = i * STEP_NS
        took = parser.update(now, fid, data, ext)
        if took:
            reached[outcome] += 1
            assert_controller_sees_only_dbc_values(parser, now, bounds)
        if took != (outcome == ACCEPTED) and len(mismatches) < 5:
            mismatches.append(f"frame {i} ({kind}) id {fid:#x} {data.hex()}: oracle {outcome}, parser "
                              f"{parser.receiver.last_rejection if outcome == ACCEPTED else 'took it'}")
    got = parser.receiver.counts
    return {"expected": expected, "reached": reached, "mismatches": mismatches,
            "got": Counter({k: got[k] for k in got if k not in (NON_FINITE, OUT_OF_RANGE)}) +
            Counter({CONTENT: got[NON_FINITE] + got[OUT_OF_RANGE]}), "got_raw": dict(got)}


def check_bulk(name: str, tmp: Path, n: int) -> None:
    config = chassis(name, tmp)
    t0 = time.perf_counter()
    r = run_bulk(config, n, seed=20240 + len(name))
    seconds = time.perf_counter() - t0
    invalid_reached = sum(r["reached"][k] for k in INVALID)
    valid = r["expected"][ACCEPTED]
    print(f"\n{name}: {n} frames in {seconds:.1f} s; reached the controller: {r['reached'][ACCEPTED]} of {valid} "
          f"valid, {invalid_reached} invalid; parser counts {r['got_raw']}")
    assert not r["mismatches"], "\n".join(r["mismatches"])
    assert invalid_reached == 0, r["reached"]
    assert r["reached"][ACCEPTED] == valid and valid > 0.25 * n  # valid frames do get through
    for reason in (*INVALID, UNKNOWN_ID, IGNORED_OWN, COUNTER_SKIP):
        assert r["got"][reason] == r["expected"][reason], (reason, r["got"], r["expected"])
    for reason in (BAD_LENGTH, BAD_CHECKSUM, CONTENT, BAD_COUNTER, UNKNOWN_ID, IGNORED_OWN):
        assert r["expected"][reason] > 0.005 * n, reason  # every kind of invalid frame was tried
    if name == "chassis_a_float_speed":
        assert r["got_raw"][NON_FINITE] > 0
    if config.status[0].pages:
        assert r["expected"][UNDECODABLE] > 0.005 * n


@pytest.mark.parametrize("name", [*SHIPPED, "chassis_a_float_speed"])
def test_fuzz_status_path_100k_frames_per_chassis(name: str, tmp_path: Path) -> None:
    """About 2 s per chassis on the 2-core machine, so it runs in the fast suite."""
    check_bulk(name, tmp_path, 100_000)


# --- structured sequences (hypothesis) ----------------------------------------------------------

@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ChassisConfig]:
    tmp = tmp_path_factory.mktemp("float_chassis")
    return {name: chassis(name, tmp) for name in (*SHIPPED, "chassis_a_float_speed")}


def draw_frame(data: st.DataObject, config: ChassisConfig, oracle: Oracle) -> tuple[int, bool, bytes]:
    """Anything at all, or a frame of a status message with random, in-range or boundary signal
    values (NaN and inf for a float signal), a counter that advances, repeats or jumps, and a
    checksum that is right or not."""
    kind = data.draw(st.sampled_from(["raw", "near_valid", "in_range"]))
    if kind == "raw":
        fid = data.draw(st.one_of(st.sampled_from(sorted(config.status_ids | config.command_ids)),
                                  st.integers(0, 0x7FF), st.integers(0, (1 << 29) - 1)))
        return fid, fid > 0x7FF or data.draw(st.booleans()), data.draw(st.binary(max_size=16))
    mm = config.status[data.draw(st.integers(0, len(config.status) - 1))]
    buf = np.frombuffer(data.draw(st.binary(min_size=mm.length, max_size=mm.length)), np.uint8).copy()[None, :]
    page = data.draw(st.sampled_from([*mm.pages, 3, 15])) if mm.pages else None
    for name, lay in oracle.layouts[mm.name].items():
        if name in (mm.counter, mm.checksum) or (lay.pages is not None and page not in lay.pages):
            continue
        if name == mm.multiplexer:
            raw = page
        elif lay.is_float:
            value = data.draw(st.floats(max(lay.dbc_min, -1e3), min(lay.dbc_max, 1e3), width=32) if kind == "in_range"
                              else st.floats(width=32))
            raw = int(np.array([value], np.float32).view(np.uint32)[0])
        else:
            raw = data.draw(st.integers(*(lay.window if kind == "in_range" else lay.capacity)))
        lay.put(buf, np.array([0]), np.array([raw]))
    out = bytearray(buf[0].tobytes())
    last = oracle.last.get(mm.name, -1)
    counter = data.draw(st.sampled_from([last + 1, last, last + 2, 0]))
    put_counter(oracle, mm, out, counter % mm.counter_modulo)
    body = bytes(out[:mm.checksum_byte] + out[mm.checksum_byte + 1:])
    out[mm.checksum_byte] = oracle_checksum(mm.checksum_algorithm, body) ^ data.draw(st.sampled_from([0, 0, 0, 1]))
    return mm.frame_id, mm.is_extended, bytes(out)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([*SHIPPED, "chassis_a_float_speed"]), data=st.data())
def test_fuzz_structured_sequences(configs: dict[str, ChassisConfig], name: str, data: st.DataObject) -> None:
    """Each frame: the parser's outcome and reason are the oracle's, a rejected frame changes
    nothing the controller reads, a taken one leaves only DBC-range values there."""
    config = configs[name]
    oracle = Oracle(config)
    parser = StatusParser(config)
    bounds = oracle.field_bounds()
    for i in range(data.draw(st.integers(1, 40))):
        fid, ext, payload = draw_frame(data, config, oracle)
        now = i * STEP_NS
        before, counts = parser.state(now), Counter(parser.receiver.counts)
        outcome, _ = oracle.expect(fid, ext, payload)
        took = parser.update(now, fid, payload, ext)
        diff = Counter(parser.receiver.counts) - counts
        diff.pop(COUNTER_SKIP, None)
        assert len(diff) == 1, diff  # exactly one outcome per frame
        reason = next(iter(diff))
        assert reason == outcome or (outcome == CONTENT and reason in (NON_FINITE, OUT_OF_RANGE)), (reason, outcome)
        assert took == (outcome == ACCEPTED), (outcome, parser.receiver.last_rejection, payload.hex())
        if took:
            assert_controller_sees_only_dbc_values(parser, now, bounds)
        else:
            after = parser.state(now)
            assert (before is None and after is None) or after == before
