"""Token buckets for stage and route throttling (per node).

A bucket holds up to `burst` tokens and refills at `rate` per second; a request takes
one or is answered 429. Clock reads are monotonic, and a bucket with no limit costs
nothing: `Bucket.unlimited()` is never consulted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class Bucket:
    """One token bucket."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self) -> bool:
        """Take one token; False if the bucket is empty."""
        now = time.monotonic()
        tokens = self.tokens + (now - self.stamp) * self.rate
        self.tokens = tokens if tokens < self.burst else self.burst  # min(), without a call
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def bucket_for(rate: float | None, burst: int | None) -> Bucket | None:
    """A bucket for the given limits, or None when neither is set.

    As on AWS, a burst of 0 or a rate of 0 blocks every request.
    """
    if rate is None and burst is None:
        return None
    rate_value = float(rate) if rate is not None else 10_000.0
    burst_value = float(burst) if burst is not None else 5_000.0
    return Bucket(rate_value, burst_value)
