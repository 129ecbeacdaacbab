"""Turn the partial UTC time marks of V2X messages into absolute times (pure).

V2X messages carry time as parts of the current UTC minute/hour/year (DSecond = ms in the
minute, TimeMark = 0.1 s in the hour, MinuteOfTheYear). Each is resolved to the instant
nearest to a reference time (the receiver's clock, ``now_ns``, nanoseconds since the Unix
epoch, UTC), which is unambiguous as long as sender and receiver clocks agree to within half
the period (30 s, 30 min, half a year) - far looser than the freshness checks that follow.
"""

from __future__ import annotations

import datetime as dt

NS = 1_000_000_000
MS = 1_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS

DSECOND_MAX = 59_999  # ms; 60000..60999 leap second, 61000.. reserved / unavailable
MOY_INVALID = 527_040
TIME_MARK_MAX = 35_999  # 0.1 s; 36000 = more than an hour, 36001 = unknown


def _nearest(t: int, ref: int, period: int) -> int:
    while t - ref > period // 2:
        t -= period
    while ref - t > period // 2:
        t += period
    return t


def resolve_sec_mark(sec_mark_ms: int, now_ns: int) -> int | None:
    """DSecond (ms in the UTC minute) -> ns since the epoch nearest ``now_ns``; None when invalid."""
    if not 0 <= sec_mark_ms <= DSECOND_MAX:
        return None
    return _nearest(now_ns - now_ns % MINUTE_NS + sec_mark_ms * MS, now_ns, MINUTE_NS)


def year_start_ns(year: int) -> int:
    return int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()) * NS


def resolve_moy(moy: int, now_ns: int, ms_in_minute: int | None = None) -> int | None:
    """MinuteOfTheYear (+ optional DSecond) -> ns since the epoch, in the year nearest ``now_ns``."""
    if not 0 <= moy < MOY_INVALID or (ms_in_minute is not None and not 0 <= ms_in_minute <= DSECOND_MAX):
        return None
    year = dt.datetime.fromtimestamp(now_ns / NS, tz=dt.UTC).year
    offset = moy * MINUTE_NS + (ms_in_minute or 0) * MS
    candidates = [year_start_ns(y) + offset for y in (year - 1, year, year + 1)]
    return min(candidates, key=lambda t: abs(t - now_ns))


def resolve_hour_tenths(tenths: int, ref_ns: int) -> int | None:
    """TimeMark as a UTC time (0.1 s in the hour) -> ns since the epoch nearest ``ref_ns``."""
    if not 0 <= tenths <= TIME_MARK_MAX:
        return None
    return _nearest(ref_ns - ref_ns % HOUR_NS + tenths * (NS // 10), ref_ns, HOUR_NS)


def counting_to_ns(tenths: int | None, message_ns: int) -> int | None:
    """TimeMark as a count-down (0.1 s from the message time) -> ns since the epoch; None if unknown."""
    if tenths is None or not 0 <= tenths <= TIME_MARK_MAX:
        return None
    return message_ns + tenths * (NS // 10)
