"""Client-side rate limits: a connector waits for a free slot instead of spending its quota on 429 answers."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from relaydesk.core.delivery import DeliveryError

Clock = Callable[[], float]


class RollingLimit:
    """At most `limit` calls in any `window_s` seconds, shared by every caller in this process."""

    def __init__(self, limit: int, window_s: float, *, max_wait_s: float = 5.0, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self.clock = clock
        self._calls: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self, what: str) -> None:
        """Wait for a slot; when the wait would be long, fail the attempt so the outbox retries it later."""
        async with self._lock:
            now = self.clock()
            while self._calls and self._calls[0] <= now - self.window_s:
                self._calls.popleft()
            if len(self._calls) >= self.limit:
                wait = self._calls[0] + self.window_s - now
                if wait > self.max_wait_s:
                    raise DeliveryError(
                        f"{what}: holding back to stay within {self.limit} calls per {self.window_s:g} s",
                        retry_after_s=wait,
                    )
                await asyncio.sleep(wait)
                self._calls.popleft()
            self._calls.append(self.clock())


class Limits:
    """Named limits per key (an integration), made on first use."""

    def __init__(self, factory: Callable[[], dict[str, RollingLimit]]) -> None:
        self.factory = factory
        self._by_key: dict[str, dict[str, RollingLimit]] = {}

    def of(self, key: str) -> dict[str, RollingLimit]:
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = self.factory()
        return found
