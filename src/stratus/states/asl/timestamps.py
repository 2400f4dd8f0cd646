"""RFC 3339 timestamps as Choice Rules compare them: instants, to the nanosecond.

AWS reads timestamps in a narrower profile than ISO 8601 (uppercase ``T`` and ``Z``, at
most nine fractional digits, no leap second) and compares them as instants across time
zone offsets; `datetime` keeps only microseconds, so an instant here is an integer count
of nanoseconds since the epoch.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Final

_TIMESTAMP: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH_DAY: Final = dt.date(1970, 1, 1).toordinal()
_LONGEST_TIMESTAMP: Final = len("2000-01-01T00:00:00.123456789+00:00")


@lru_cache(maxsize=4096)
def _instant(text: str) -> int | None:
    """An RFC 3339 timestamp as nanoseconds since the epoch, or None if it is not one.

    AWS's profile: an uppercase ``T`` and ``Z``, a numeric offset otherwise (up to ±18:00,
    as Java allows), at most nine fractional digits, no leap second.
    """
    match = _TIMESTAMP.fullmatch(text) if len(text) <= _LONGEST_TIMESTAMP else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, sign, offset_hours, offset_minutes = match.groups()[6:]
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        days = dt.date(year, month, day).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    offset = 0
    if sign is not None:
        offset = int(offset_hours) * 3600 + int(offset_minutes) * 60
        if int(offset_minutes) > 59 or offset > 18 * 3600:
            return None
        if sign == "-":
            offset = -offset
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * 1_000_000_000 + nanos
