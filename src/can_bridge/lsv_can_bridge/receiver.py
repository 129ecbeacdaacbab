"""Checks received frames the opendbc way (``MessageState.parse(nanos, data)``): a frame counts
only if its id is known, its length is right, its checksum is right, every decoded signal is a
finite number inside the DBC signal's ``[minimum|maximum]`` (where the DBC declares one) and its
alive counter advanced; a message not seen for ``stale_periods`` of its periods is stale.
A rejected frame changes nothing (not even the counter state) and is counted per reason, in
total (``counts``) and per message (``MessageState.counts``).

Pure: the caller passes the receive time ``now_ns``; nothing here raises on bad input.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cantools

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import MessageMap

log = logging.getLogger(__name__)

#: reasons a frame is dropped (keys of ``FrameReceiver.counts``)
BAD_LENGTH = "bad_length"
BAD_CHECKSUM = "bad_checksum"
BAD_COUNTER = "bad_counter"  # counter did not advance (repeated frame, frozen sender)
UNDECODABLE = "undecodable"  # e.g. an unknown multiplexer page
OUT_OF_RANGE = "out_of_range"  # a decoded signal outside its DBC [minimum|maximum]
NON_FINITE = "non_finite"  # a decoded signal is NaN or infinite (IEEE float signals)
UNKNOWN_ID = "unknown_id"
#: counted but not dropped
COUNTER_SKIP = "counter_skip"  # counter jumped: frames were lost
ACCEPTED = "accepted"
IGNORED_OWN = "ignored_own"  # frames this side sends itself (looped back by the transport)
TIMEOUTS = "timeouts"  # a message went stale
#: every reason a frame of a known message is dropped, in the order the checks run
DROP_REASONS = (BAD_LENGTH, BAD_CHECKSUM, UNDECODABLE, NON_FINITE, OUT_OF_RANGE, BAD_COUNTER)


def dbc_ranges(dbc_message: Any) -> dict[str, tuple[float, float]]:
    """``{signal: (low, high)}`` for every signal of a cantools message whose DBC declares a range
    (cantools gives None for an undeclared one, ``[0|0]``), widened by a millionth of the scale so
    a value on the limit that decodes with a rounding error is still inside (as cantools' own
    encode check does)."""
    ranges = {}
    for sig in dbc_message.signals:
        tol = abs(sig.scale) * 1e-6
        lo = -math.inf if sig.minimum is None else float(sig.minimum) - tol
        hi = math.inf if sig.maximum is None else float(sig.maximum) + tol
        if sig.minimum is not None or sig.maximum is not None:
            ranges[sig.name] = (lo, hi)
    return ranges


@dataclass
class MessageState:
    """Per-message bookkeeping."""

    mm: MessageMap
    last_counter: int | None = None
    last_ns: int | None = None
    stale: bool = True
    decoded: dict[str, Any] | None = None
    page_ns: dict[int, int] = field(default_factory=dict)  # multiplexed: last time each page was accepted
    counts: Counter[str] = field(default_factory=Counter)  # drop reasons of this message
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # DBC range per signal

    @property
    def page_timeout_ns(self) -> int:
        """A page of a multiplexed message comes once per ``len(pages)`` frames."""
        return self.mm.period_ns * max(1, len(self.mm.pages))

    def seen(self) -> bool:
        if self.mm.pages:
            return all(p in self.page_ns for p in self.mm.pages)
        return self.last_ns is not None


class FrameReceiver:
    """Validates frames of the messages ``messages``; ``ignore_ids`` are counted as own traffic."""

    def __init__(self, messages: Iterable[MessageMap], stale_periods: int = 10, ignore_ids: Iterable[int] = ()):
        self.states: dict[tuple[int, bool], MessageState] = {
            (m.frame_id, m.is_extended): MessageState(m, ranges=dbc_ranges(m.dbc_message)) for m in messages}
        self._ignore = frozenset(ignore_ids)
        self.stale_periods = stale_periods
        self.counts: Counter[str] = Counter()
        #: what the last dropped frame of a known message was, for a throttled log line
        self.last_rejection: str | None = None

    def update(self, now_ns: int, arbitration_id: int, data: bytes | bytearray,
               is_extended: bool = False) -> MessageState | None:
        """Check one frame; return the message's state when the frame was accepted, else None."""
        st = self.states.get((arbitration_id, is_extended))
        if st is None:
            self.counts[IGNORED_OWN if arbitration_id in self._ignore else UNKNOWN_ID] += 1
            return None
        mm = st.mm
        data = bytes(data)
        if len(data) != mm.length:
            return self._reject(st, BAD_LENGTH, f"{len(data)} bytes, expected {mm.length}")
        if not frames.checksum_ok(mm, data):
            return self._reject(st, BAD_CHECKSUM, f"{mm.checksum_algorithm} checksum wrong")
        try:
            decoded = mm.dbc_message.decode(data, decode_choices=False, scaling=True, allow_truncated=False)
        except (cantools.database.DecodeError, KeyError, ValueError) as err:
            return self._reject(st, UNDECODABLE, str(err))
        problem = _value_problem(decoded, st.ranges)
        if problem is not None:
            return self._reject(st, *problem)
        counter = int(decoded[mm.counter])
        if st.last_counter is not None and not st.stale:
            if counter == st.last_counter:
                return self._reject(st, BAD_COUNTER, f"alive counter {counter} repeated")
            if counter != (st.last_counter + 1) % mm.counter_modulo:
                self.counts[COUNTER_SKIP] += 1
        st.last_counter = counter
        st.last_ns = now_ns
        if mm.multiplexer is not None:
            st.page_ns[int(decoded[mm.multiplexer])] = now_ns
            st.stale = self._timed_out(st, now_ns)  # fresh only when every page is
        else:
            st.stale = False
        st.decoded = decoded
        self.counts[ACCEPTED] += 1
        return st

    def _reject(self, st: MessageState, reason: str, detail: str) -> None:
        self.counts[reason] += 1
        st.counts[reason] += 1
        self.last_rejection = f"{st.mm.name}: {reason} ({detail})"

    def per_message(self) -> dict[str, dict[str, int]]:
        """``{message: {reason: count}}`` for every message with dropped frames."""
        return {st.mm.name: dict(st.counts) for st in self.states.values() if st.counts}

    def check_timeouts(self, now_ns: int) -> bool:
        """Mark messages not seen for ``stale_periods`` periods stale (for a multiplexed message:
        any of its pages not seen for ``stale_periods`` page periods); True when any is stale."""
        any_stale = False
        for st in self.states.values():
            if not st.stale and st.last_ns is not None and self._timed_out(st, now_ns):
                st.stale = True
                self.counts[TIMEOUTS] += 1
            any_stale |= st.stale
        return any_stale

    def _timed_out(self, st: MessageState, now_ns: int) -> bool:
        if st.mm.pages:
            limit = self.stale_periods * st.page_timeout_ns
            return any(now_ns - st.page_ns.get(p, -(1 << 62)) > limit for p in st.mm.pages)
        return now_ns - (st.last_ns or 0) > self.stale_periods * st.mm.period_ns

    def all_seen(self) -> bool:
        return all(st.seen() for st in self.states.values())

    def dropped(self) -> int:
        """Frames of known messages dropped so far, all reasons together."""
        return sum(self.counts[k] for k in DROP_REASONS)


def _value_problem(decoded: dict[str, Any], ranges: dict[str, tuple[float, float]]) -> tuple[str, str] | None:
    """``(reason, detail)`` for the first decoded signal that is not finite or outside its DBC
    range, None when every signal is fine."""
    for name, value in decoded.items():
        v = float(value)
        if not math.isfinite(v):
            return NON_FINITE, f"{name} = {v}"
        r = ranges.get(name)
        if r is not None and not r[0] <= v <= r[1]:
            return OUT_OF_RANGE, f"{name} = {v:g} outside [{r[0]:g}, {r[1]:g}]"
    return None
