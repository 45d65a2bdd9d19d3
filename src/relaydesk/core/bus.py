"""The realtime bus: wake-ups and live events fanned out to subscribers, in one process or across many via Redis.

Pub/sub may drop an event (a slow subscriber, a Redis reconnect). Subscribers therefore treat events as hints and read
the truth from the database from their own cursor; a subscription that may have missed something is marked `lagged`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Event = dict[str, Any]
QUEUE_SIZE = 1000


class Subscription:
    """The events of some channels, queued for one consumer."""

    def __init__(self, bus: Bus, channels: tuple[str, ...]) -> None:
        self.bus = bus
        self.channels = channels
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self.lagged = False

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True

    async def get(self, wait_s: float | None = None) -> Event | None:
        """The next event, or None when `wait_s` passes first."""
        try:
            return await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            return None

    def take_lag(self) -> bool:
        """Whether events may have been lost since the last call (and forget it)."""
        lagged, self.lagged = self.lagged, False
        return lagged


class Bus:
    """In-process fan-out; the base of the Redis bus, which adds the hop between processes."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, channel: str, event: Event) -> None:
        self._deliver(channel, event)

    def _deliver(self, channel: str, event: Event) -> None:
        for subscription in tuple(self._subscribers.get(channel, ())):
            subscription.offer(event)

    def _mark_all_lagged(self) -> None:
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.lagged = True

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(self, channels)
        for channel in channels:
            first = not self._subscribers[channel]
            self._subscribers[channel].add(subscription)
            if first:
                await self._on_first_subscriber(channel)
        try:
            yield subscription
        finally:
            for channel in channels:
                self._subscribers[channel].discard(subscription)
                if not self._subscribers[channel]:
                    del self._subscribers[channel]
                    await self._on_last_unsubscribe(channel)

    async def _on_first_subscriber(self, channel: str) -> None:
        return None

    async def _on_last_unsubscribe(self, channel: str) -> None:
        return None


class RedisBus(Bus):
    """Publishes through Redis so that every process's subscribers see every event."""

    def __init__(self, url: str, *, prefix: str = "relaydesk:") -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._redis.ping()
        # A pub/sub connection needs one subscription before it can be read; this one also tells the reader it lives.
        await self._pubsub.subscribe(self._prefix + "_alive")
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()

    async def publish(self, channel: str, event: Event) -> None:
        await self._redis.publish(self._prefix + channel, json.dumps(event, separators=(",", ":")))

    async def _on_first_subscriber(self, channel: str) -> None:
        async with self._lock:
            await self._pubsub.subscribe(self._prefix + channel)

    async def _on_last_unsubscribe(self, channel: str) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(self._prefix + channel)

    async def _read_forever(self) -> None:
        skip = len(self._prefix)
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("bus.redis_reconnect", error=str(exc))
                self._mark_all_lagged()
                await asyncio.sleep(0.5)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()[skip:]
            try:
                event = json.loads(message["data"])
            except ValueError:
                continue
            self._deliver(channel, event)

    async def _resubscribe(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            channels = [self._prefix + c for c in self._subscribers] + [self._prefix + "_alive"]
            with contextlib.suppress(Exception):
                await self._pubsub.subscribe(*channels)


def create_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else Bus()
