"""Checks every decoded V2X message must pass before it is used (pure; time is an argument).

Order: source table and rate limit -> time (freshness, future, invalid marks) -> duplicate /
replay -> plausibility (ranges, distance from the ego vehicle and the map origin). A message
either passes whole, passes with some elements removed (an RSM participant too far away, an
RSI event already over) or is dropped; every drop is counted by ``DropReason`` (whole
messages in ``counts``, removed elements in ``element_counts``). Nothing here raises on odd
values: odd values are drops.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass

from lsv_v2x_client import timeref
from lsv_v2x_client.messages import (
    STOP_STATES,
    Bsm,
    GeoPoint,
    MapData,
    MessageKind,
    Participant,
    RoadEvent,
    RoadSign,
    Rsi,
    Rsm,
    Spat,
    V2xMessage,
)
from lsv_v2x_client.projection import LocalProjection

_log = logging.getLogger(__name__)

NS = timeref.NS


class DropReason(enum.Enum):
    """Why a datagram, message or element was not used. The value is the diagnostics key."""

    HEADER = "header"  # shorter than the OBU framing header
    OVERSIZED = "oversized"  # longer than any datagram, or than any message of its type may be
    SOURCE_RATE_LIMITED = "source_rate_limited"  # above the datagram rate of one UDP sender, not decoded
    OVER_BUDGET = "over_budget"  # above the datagram rate of all senders together, not decoded
    DECODE_BUDGET = "decode_budget"  # above the undecoded bytes per second of all senders, not decoded
    # signed messages (security.py), checked before decoding
    UNSIGNED = "unsigned"  # no signed envelope while require_signature is set
    BAD_ENVELOPE = "bad_envelope"  # a signed envelope that is not well formed, or whose type is not its payload's
    UNKNOWN_SIGNER = "unknown_signer"  # signer id not in the trust store
    NOT_PERMITTED = "not_permitted"  # the signer may not sign this message type
    GENERATION_TIME = "generation_time"  # signed too long ago or in the future
    CERT_INVALID = "cert_invalid"  # generation time outside the signer's validity window
    BAD_SIGNATURE = "bad_signature"  # the signature does not verify
    MALFORMED = "malformed"  # not valid UPER for the profile, or values outside the ASN.1 constraints
    UNSUPPORTED = "unsupported"  # a message or enumeration extension this stack does not know
    TIME_INVALID = "time_invalid"  # time mark missing where required, leap/unavailable value
    STALE = "stale"
    FUTURE = "future"  # message time ahead of the ego clock by more than the tolerance
    EXPIRED = "expired"  # RSI event/sign whose end time has passed, or not started yet
    DUPLICATE = "duplicate"  # same source, counter and content within the duplicate window
    REPLAY = "replay"  # older than a message already accepted from the same source
    RATE_LIMITED = "rate_limited"
    TOO_MANY_SOURCES = "too_many_sources"
    OUT_OF_RANGE = "out_of_range"  # farther from the ego vehicle (or the map origin) than allowed
    IMPLAUSIBLE = "implausible"  # speed, heading, size, position or timing values out of range
    NO_EGO_POSE = "no_ego_pose"  # position-dependent content while the ego pose is unknown or stale


@dataclass(frozen=True)
class CheckParams:
    bsm_max_age_s: float = 1.0
    rsm_max_age_s: float = 1.0
    spat_max_age_s: float = 5.0  # SPaT timing validity (Autoware traffic-light arbiter: 5 s)
    rsi_max_age_s: float = 120.0  # RSI time is a MinuteOfTheYear: keep >= 60 s
    max_future_s: float = 0.5
    max_range_m: float = 500.0  # from the ego vehicle
    max_origin_distance_m: float = 20_000.0  # from the map origin, checked with or without ego pose
    max_speed_mps: float = 45.0
    max_length_m: float = 30.0
    max_width_m: float = 5.0
    duplicate_window_s: float = 2.0  # < 12.8 s, the MsgCount wrap period at 10 Hz
    rate_limit_hz: float = 20.0  # per source and message type
    rate_burst: float = 10.0
    max_sources: int = 2048
    require_spat_time: bool = True
    speed_limit_sign_types: tuple[int, ...] = (85,)  # RSI signs that must carry a readable limit


@dataclass(frozen=True)
class EgoState:
    """Ego pose in the map frame; ``stamp_ns`` = when it was valid (same clock as now_ns)."""

    x: float
    y: float
    yaw: float  # rad from the map x axis, CCW
    speed: float  # m/s, >= 0 forwards
    stamp_ns: int


@dataclass(frozen=True)
class Checked:
    """A message that passed, with its absolute time (ns since epoch; receive time when it has none)."""

    message: V2xMessage
    time_ns: int
    source: str


@dataclass
class _SourceState:
    tokens: float
    last_ns: int
    last_time_ns: int | None = None  # message time of the last accepted message
    seen: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)  # counter -> (digest, when)


def message_source(msg: V2xMessage, sender: str) -> str:
    """Identity of the sender for duplicate/rate bookkeeping: vehicle or RSU id, else the UDP sender."""
    if isinstance(msg, Bsm):
        return msg.vehicle_id.hex()
    if isinstance(msg, (Rsi, Rsm)):
        return msg.rsu_id.hex()
    if isinstance(msg, Spat):
        return sender + "/" + ",".join(str(i.ref.node_id) for i in msg.intersections)
    return sender


class MessageChecker:
    """Stateful checker: per-source rate limits, duplicate and replay memory, drop counters."""

    def __init__(self, params: CheckParams, projection: LocalProjection):
        self.params = params
        self.projection = projection
        self.counts: Counter[DropReason] = Counter()
        self.element_counts: Counter[DropReason] = Counter()
        self.accepted: Counter[MessageKind] = Counter()
        self._sources: OrderedDict[tuple[MessageKind, str], _SourceState] = OrderedDict()

    def drop(self, reason: DropReason) -> None:
        self.counts[reason] += 1

    # ------------------------------------------------------------------ entry point

    def check(self, msg: V2xMessage, sender: str, digest: int, now_ns: int, ego: EgoState | None) -> Checked | None:
        """The message (possibly with elements removed) if it passes, else None (and the reason counted)."""
        source = message_source(msg, sender)
        key = (msg.kind, source)
        state = self._source(key, now_ns)
        if state is None:
            return self._fail(DropReason.TOO_MANY_SOURCES)
        if not self._take_token(state, now_ns):
            return self._fail(DropReason.RATE_LIMITED)
        result = self._check_kind(msg, now_ns, ego)
        if isinstance(result, DropReason):
            return self._fail(result)
        msg, time_ns = result
        if msg.kind is not MessageKind.MAP:
            dup = self._duplicate(state, msg.msg_count, digest, time_ns, now_ns)
            if dup is not None:
                return self._fail(dup)
            state.last_time_ns = time_ns if state.last_time_ns is None else max(state.last_time_ns, time_ns)
        self.accepted[msg.kind] += 1
        return Checked(msg, time_ns, source)

    def _fail(self, reason: DropReason) -> None:
        self.counts[reason] += 1
        return None

    # ------------------------------------------------------------------ bookkeeping

    def _source(self, key: tuple[MessageKind, str], now_ns: int) -> _SourceState | None:
        state = self._sources.get(key)
        if state is not None:
            self._sources.move_to_end(key)
            return state
        if len(self._sources) >= self.params.max_sources:
            # evict a source silent for longer than the duplicate window; refuse if none is
            oldest_key, oldest = next(iter(self._sources.items()))
            if now_ns - oldest.last_ns < self.params.duplicate_window_s * NS:
                return None
            del self._sources[oldest_key]
        state = _SourceState(tokens=self.params.rate_burst, last_ns=now_ns)
        self._sources[key] = state
        return state

    def _take_token(self, state: _SourceState, now_ns: int) -> bool:
        p = self.params
        state.tokens = min(p.rate_burst, state.tokens + max(0, now_ns - state.last_ns) / NS * p.rate_limit_hz)
        state.last_ns = now_ns
        if state.tokens < 1.0:
            return False
        state.tokens -= 1.0
        return True

    def _duplicate(self, state: _SourceState, counter: int, digest: int, time_ns: int,
                   now_ns: int) -> DropReason | None:
        window = self.params.duplicate_window_s * NS
        state.seen = {c: v for c, v in state.seen.items() if now_ns - v[1] <= window}
        prev = state.seen.get(counter)
        if prev is not None and prev[0] == digest:
            return DropReason.DUPLICATE
        if state.last_time_ns is not None and time_ns < state.last_time_ns:
            return DropReason.REPLAY
        state.seen[counter] = (digest, now_ns)
        return None

    # ------------------------------------------------------------------ per type

    def _check_kind(self, msg: V2xMessage, now_ns: int, ego: EgoState | None) -> tuple[V2xMessage, int] | DropReason:
        if isinstance(msg, Bsm):
            return self._check_bsm(msg, now_ns, ego)
        if isinstance(msg, Spat):
            return self._check_spat(msg, now_ns)
        if isinstance(msg, MapData):
            return self._check_map(msg, now_ns, ego)
        if isinstance(msg, Rsm):
            return self._check_rsm(msg, now_ns, ego)
        if isinstance(msg, Rsi):
            return self._check_rsi(msg, now_ns, ego)
        return DropReason.UNSUPPORTED

    def _age(self, time_ns: int | None, now_ns: int, max_age_s: float) -> DropReason | None:
        if time_ns is None:
            return DropReason.TIME_INVALID
        if time_ns - now_ns > self.params.max_future_s * NS:
            return DropReason.FUTURE
        if now_ns - time_ns > max_age_s * NS:
            return DropReason.STALE
        return None

    def _place(self, p: GeoPoint, ego: EgoState | None, max_range_m: float | None = None) -> DropReason | None:
        """Position checks: valid lat/lon, near the map origin, and within range of the ego vehicle."""
        if not (-900_000_000 <= p.lat_e7 <= 900_000_000 and -1_799_999_999 <= p.lon_e7 <= 1_800_000_000):
            return DropReason.IMPLAUSIBLE
        x, y = self.projection.forward_point(p.lat_deg, p.lon_deg)
        if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) > self.params.max_origin_distance_m:
            return DropReason.OUT_OF_RANGE
        if ego is None:
            return DropReason.NO_EGO_POSE
        if math.hypot(x - ego.x, y - ego.y) > (max_range_m or self.params.max_range_m):
            return DropReason.OUT_OF_RANGE
        return None

    def _motion(self, speed_raw: int, heading_raw: int, length_cm: int, width_cm: int) -> DropReason | None:
        p = self.params
        if speed_raw != 8191 and speed_raw * 0.02 > p.max_speed_mps:
            return DropReason.IMPLAUSIBLE
        if heading_raw > 28800 or length_cm > p.max_length_m * 100 or width_cm > p.max_width_m * 100:
            return DropReason.IMPLAUSIBLE
        return None

    def _check_bsm(self, msg: Bsm, now_ns: int, ego: EgoState | None) -> tuple[Bsm, int] | DropReason:
        time_ns = timeref.resolve_sec_mark(msg.sec_mark_ms, now_ns)
        reason = (self._age(time_ns, now_ns, self.params.bsm_max_age_s)
                  or self._motion(msg.speed_raw, msg.heading_raw, msg.length_cm, msg.width_cm)
                  or self._place(msg.position, ego))
        return reason or (msg, time_ns)

    def _participant(self, p: Participant, now_ns: int, ego: EgoState | None) -> DropReason | None:
        t = timeref.resolve_sec_mark(p.sec_mark_ms, now_ns)
        return (self._age(t, now_ns, self.params.rsm_max_age_s)
                or self._motion(p.speed_raw, p.heading_raw, p.length_cm, p.width_cm)
                or self._place(p.position, ego))

    def _check_rsm(self, msg: Rsm, now_ns: int, ego: EgoState | None) -> tuple[Rsm, int] | DropReason:
        rsu_reason = self._place(msg.position, ego, self.params.max_range_m * 2)
        if rsu_reason is not None:
            return rsu_reason
        kept, reasons = [], []
        for p in msg.participants:
            r = self._participant(p, now_ns, ego)
            if r is None:
                kept.append(p)
            else:
                reasons.append(r)
        if not kept:  # the message as a whole counts with the reason of its first participant
            return reasons[0] if reasons else DropReason.IMPLAUSIBLE
        self.element_counts.update(reasons)
        times = [timeref.resolve_sec_mark(p.sec_mark_ms, now_ns) for p in kept]
        return dataclasses.replace(msg, participants=tuple(kept)), max(t for t in times if t is not None)

    def _spat_time(self, msg: Spat, now_ns: int) -> int | None:
        for moy, ms in [(i.moy, i.timestamp_ms) for i in msg.intersections] + [(msg.moy, msg.timestamp_ms)]:
            if moy is not None:
                return timeref.resolve_moy(moy, now_ns, ms)
            if ms is not None:
                return timeref.resolve_sec_mark(ms, now_ns)
        return None

    def _check_spat(self, msg: Spat, now_ns: int) -> tuple[Spat, int] | DropReason:
        time_ns = self._spat_time(msg, now_ns)
        if time_ns is None and not self.params.require_spat_time:
            time_ns = now_ns
        reason = self._age(time_ns, now_ns, self.params.spat_max_age_s)
        if reason is not None:
            return reason
        for inter in msg.intersections:
            for phase in inter.phases:
                for step in phase.steps:
                    if not spat_step_plausible(step):
                        return DropReason.IMPLAUSIBLE
        return msg, time_ns

    def _check_map(self, msg: MapData, now_ns: int, ego: EgoState | None) -> tuple[MapData, int] | DropReason:
        # A MAP is static: no freshness. Its nodes must be near the map origin; distance from the ego
        # vehicle is not required (the map is cached and used once the vehicle gets there).
        for node in msg.nodes:
            r = self._place(node.position, None)
            if r is not DropReason.NO_EGO_POSE:
                return r or DropReason.IMPLAUSIBLE
        return msg, now_ns

    def _check_rsi(self, msg: Rsi, now_ns: int, ego: EgoState | None) -> tuple[Rsi, int] | DropReason:
        time_ns = now_ns
        if msg.moy is not None:
            time_ns = timeref.resolve_moy(msg.moy, now_ns)
            reason = self._age(time_ns, now_ns, self.params.rsi_max_age_s)
            if reason is not None:
                return reason
        r = self._place(msg.position, ego, self.params.max_range_m * 2)
        if r is not None:
            return r
        events, signs, reasons = [], [], []
        for item, bucket in [(e, events) for e in msg.events] + [(s, signs) for s in msg.signs]:
            reason = self._rsi_item(item, now_ns, ego)
            if reason is None:
                bucket.append(item)
            else:
                reasons.append(reason)
        if not events and not signs:
            return reasons[0] if reasons else DropReason.IMPLAUSIBLE
        self.element_counts.update(reasons)
        return dataclasses.replace(msg, events=tuple(events), signs=tuple(signs)), time_ns

    def _rsi_item(self, item: RoadEvent | RoadSign, now_ns: int, ego: EgoState | None) -> DropReason | None:
        if isinstance(item, RoadSign) and item.sign_type in self.params.speed_limit_sign_types \
                and speed_limit_from_text(item.description) is None:
            return DropReason.IMPLAUSIBLE
        if item.end_moy is not None:
            end = timeref.resolve_moy(item.end_moy, now_ns)
            if end is None:
                return DropReason.TIME_INVALID
            if end < now_ns:
                return DropReason.EXPIRED
        if item.start_moy is not None:
            start = timeref.resolve_moy(item.start_moy, now_ns)
            if start is None:
                return DropReason.TIME_INVALID
            if start > now_ns:
                return DropReason.EXPIRED
        if item.position is not None:
            return self._place(item.position, ego, self.params.max_range_m * 2)
        return None


_KMH = re.compile(r"(\d{1,3})")


def speed_limit_from_text(text: str | None) -> float | None:
    """The first 1-3 digit number in a sign's description, as km/h -> m/s; None if there is none."""
    if not text:
        return None
    m = _KMH.search(text)
    if m is None or not 0 < int(m.group(1)) <= 130:
        return None
    return int(m.group(1)) / 3.6


def spat_step_plausible(step) -> bool:
    """Timing of one phase state: marks in range (36001 = unknown only where optional), min <= likely <= max."""
    if step.timing is None:
        return True
    marks = [step.start, step.likely_end]
    if any(m is None or m > timeref.TIME_MARK_MAX + 1 for m in marks):
        return False
    if step.timing == "counting" and step.likely_end < step.start and step.likely_end != timeref.TIME_MARK_MAX + 1:
        return False
    lo, hi = step.min_end, step.max_end
    if lo is not None and hi is not None and lo <= timeref.TIME_MARK_MAX and hi <= timeref.TIME_MARK_MAX and lo > hi:
        return False
    if step.timing == "counting" and step.likely_end <= timeref.TIME_MARK_MAX:
        if lo is not None and lo <= timeref.TIME_MARK_MAX and lo > step.likely_end:
            return False
        if hi is not None and hi <= timeref.TIME_MARK_MAX and hi < step.likely_end:
            return False
    return True


__all__ = ["STOP_STATES", "CheckParams", "Checked", "DropReason", "EgoState", "MessageChecker", "message_source",
           "spat_step_plausible", "speed_limit_from_text"]
