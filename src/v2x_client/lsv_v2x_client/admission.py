"""Admission before decoding (pure; time is an argument): what a flood of datagrams may cost.

The ASN.1 decode is pure Python: ~0.03 ms for a BSM, ~7 ms for a 4.5 kB MAP, ~1.5 us per byte.
Whatever arrives on the UDP port is therefore limited *before* it is decoded (and before a
signature is verified), with token buckets:

- per UDP sender (``source_rate_hz``, burst ``source_burst``): one flooding host cannot use the
  whole budget;
- all senders together (``total_rate_hz``, burst ``total_burst``): many senders (or one with many
  source ports) cannot either;
- undecoded bytes, all senders together (``decode_bytes_per_s``, burst ``decode_burst_bytes``):
  bounds the decode time itself (64 kB/s is ~0.1 s of decoding per second, 10 % of a core, at
  most). Charged only for what is actually decoded (a MAP seen before is not).

A datagram over a limit is dropped and counted (``source_rate_limited``, ``over_budget``,
``decode_budget``); the checks after decoding keep their own per sender-id and message-type
limit (``rate_limited``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from lsv_v2x_client.checks import DropReason

NS = 1_000_000_000


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; starts full."""

    __slots__ = ("burst", "last_ns", "rate", "tokens")

    def __init__(self, rate: float, burst: float, now_ns: int):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last_ns = now_ns

    def take(self, now_ns: int, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are that many (time going backwards refills nothing)."""
        self.tokens = min(self.burst, self.tokens + max(0, now_ns - self.last_ns) / NS * self.rate)
        self.last_ns = max(self.last_ns, now_ns)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


@dataclass(frozen=True)
class AdmissionParams:
    source_rate_hz: float = 200.0  # datagrams per UDP sender
    source_burst: float = 100.0
    total_rate_hz: float = 400.0  # datagrams, all senders
    total_burst: float = 200.0
    decode_bytes_per_s: float = 65_536.0  # undecoded bytes, all senders
    decode_burst_bytes: float = 32_768.0
    max_sources: int = 2048  # senders tracked at once
    source_idle_s: float = 2.0  # a sender silent this long may be forgotten when the table is full


class AdmissionGate:
    """Token buckets per sender and for everything; drop counting is the caller's."""

    def __init__(self, params: AdmissionParams):
        self.params = params
        self._sources: OrderedDict[str, TokenBucket] = OrderedDict()
        self._total: TokenBucket | None = None
        self._bytes: TokenBucket | None = None

    def admit(self, sender: str, now_ns: int) -> DropReason | None:
        """One datagram from ``sender`` at ``now_ns``: None when admitted, else why not."""
        bucket = self._source(sender, now_ns)
        if bucket is None:
            return DropReason.TOO_MANY_SOURCES
        if not bucket.take(now_ns):  # the sender's own tokens first: a flooder does not drain the total
            return DropReason.SOURCE_RATE_LIMITED
        if not self._buckets(now_ns)[0].take(now_ns):
            return DropReason.OVER_BUDGET
        return None

    def charge_decode(self, n_bytes: int, now_ns: int) -> bool:
        """Take ``n_bytes`` from the decode budget; False (nothing taken) when it does not hold them."""
        return self._buckets(now_ns)[1].take(now_ns, float(n_bytes))

    def _buckets(self, now_ns: int) -> tuple[TokenBucket, TokenBucket]:
        """(datagrams, bytes) of all senders, full at the first datagram."""
        if self._total is None or self._bytes is None:
            p = self.params
            self._total = TokenBucket(p.total_rate_hz, p.total_burst, now_ns)
            self._bytes = TokenBucket(p.decode_bytes_per_s, p.decode_burst_bytes, now_ns)
        return self._total, self._bytes

    def _source(self, sender: str, now_ns: int) -> TokenBucket | None:
        bucket = self._sources.get(sender)
        if bucket is not None:
            self._sources.move_to_end(sender)
            return bucket
        p = self.params
        if len(self._sources) >= p.max_sources:
            oldest_key, oldest = next(iter(self._sources.items()))
            if now_ns - oldest.last_ns < p.source_idle_s * NS:
                return None
            del self._sources[oldest_key]
        bucket = TokenBucket(p.source_rate_hz, p.source_burst, now_ns)
        self._sources[sender] = bucket
        return bucket
