"""Rate limits for the widget API: token buckets per client IP and per contact, kept in this process's memory.

Each process counts on its own, so behind a load balancer with N processes a client may get up to N times the rate;
the limits are there to stop floods and runaway scripts, not to meter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket of `burst` tokens refilled at `per_second`; each request takes one."""

    burst: int
    per_second: float


@dataclass(frozen=True, slots=True)
class WidgetRates:
    per_ip: Rate = Rate(burst=240, per_second=4.0)
    per_contact: Rate = Rate(burst=60, per_second=1.0)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """Token buckets by key; `take` answers 0 when the request may go on, else the seconds to wait."""

    rates: WidgetRates = field(default_factory=WidgetRates)
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 50_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str, rate: Rate) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now, rate)
            bucket = self._buckets[key] = _Bucket(float(rate.burst), now)
        bucket.tokens = min(float(rate.burst), bucket.tokens + (now - bucket.at) * rate.per_second)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate.per_second

    def _forget_full(self, now: float, rate: Rate) -> None:
        """Drop buckets that have refilled completely: forgetting them changes nothing."""
        refill_s = rate.burst / rate.per_second
        for key in [k for k, b in self._buckets.items() if now - b.at >= refill_s]:
            del self._buckets[key]


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, rounded up, as Retry-After wants them."""
    return str(max(1, math.ceil(wait_s)))
