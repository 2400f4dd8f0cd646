"""SigV4 timestamps: the X-Amz-Date format, read and written, and the Date fallback.

The verifier checks a request's clock skew and a presigned URL's expiry in epoch
seconds; these convert between those and the `YYYYMMDD'T'HHMMSS'Z'` form a signature
carries, and read the HTTP `Date` header botocore signs with when X-Amz-Date is absent.
"""

from __future__ import annotations

import calendar
import email.utils
import functools
import re
import time

_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")


# Cached: clients send the same second many times over.
@functools.lru_cache(maxsize=64)
def _epoch(timestamp: str) -> int:
    return calendar.timegm(
        (
            int(timestamp[0:4]),
            int(timestamp[4:6]),
            int(timestamp[6:8]),
            int(timestamp[9:11]),
            int(timestamp[11:13]),
            int(timestamp[13:15]),
            0,
            0,
            0,
        )
    )


def _amz_date(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def _from_http_date(value: str | None) -> str | None:
    # botocore signs with the Date header's time when a request carries Date instead.
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return _amz_date(parsed.timestamp())
