"""Checks received frames the opendbc way (``MessageState.parse(nanos, data)``): a frame counts
only if its id is known, its length is right, its checksum is right and its alive counter
advanced; a message not seen for ``stale_periods`` of its periods is stale.

Pure: the caller passes the receive time ``now_ns``; nothing here raises on bad input.
"""

from __future__ import annotations

import logging
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
UNKNOWN_ID = "unknown_id"
#: counted but not dropped
COUNTER_SKIP = "counter_skip"  # counter jumped: frames were lost
ACCEPTED = "accepted"
IGNORED_OWN = "ignored_own"  # frames this side sends itself (looped back by the transport)
TIMEOUTS = "timeouts"  # a message went stale


@dataclass
class MessageState:
    """Per-message bookkeeping."""

    mm: MessageMap
    last_counter: int | None = None
    last_ns: int | None = None
    stale: bool = True
    decoded: dict[str, Any] | None = None
    page_ns: dict[int, int] = field(default_factory=dict)  # multiplexed: last time each page was accepted

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
            (m.frame_id, m.is_extended): MessageState(m) for m in messages}
        self._ignore = frozenset(ignore_ids)
        self.stale_periods = stale_periods
        self.counts: Counter[str] = Counter()

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
            self.counts[BAD_LENGTH] += 1
            return None
        if not frames.checksum_ok(mm, data):
            self.counts[BAD_CHECKSUM] += 1
            return None
        try:
            decoded = mm.dbc_message.decode(data, decode_choices=False, scaling=True, allow_truncated=False)
        except (cantools.database.DecodeError, KeyError, ValueError):
            self.counts[UNDECODABLE] += 1
            return None
        counter = int(decoded[mm.counter])
        if st.last_counter is not None and not st.stale:
            if counter == st.last_counter:
                self.counts[BAD_COUNTER] += 1
                return None
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
        return sum(self.counts[k] for k in (BAD_LENGTH, BAD_CHECKSUM, BAD_COUNTER, UNDECODABLE))
