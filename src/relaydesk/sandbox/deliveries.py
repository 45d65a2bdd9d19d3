"""Webhooks a sandbox sends in the background, so that the API call or rep action behind them answers first.

`BackgroundSends` keeps the sends in flight for `drain()`; `WebhookOutbox` adds the HTTP client they go through
(made and closed here unless the caller brings one); `RetriedWebhooks` posts each webhook as given and retries it on
one provider's schedule, keeping every attempt's status. What a webhook carries (payload, signature headers) and how
a provider retries stay with each sandbox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx2


class BackgroundSends:
    """Sends running as tasks of the event loop; `drain()` waits until each has finished, also those started while
    waiting. With `return_exceptions` a send that raised does not stop the wait (nor reach the caller)."""

    def __init__(self, *, return_exceptions: bool = False) -> None:
        self._return_exceptions = return_exceptions
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, send: Coroutine[Any, Any, None]) -> None:
        """Run `send` in the background."""
        task = asyncio.get_running_loop().create_task(send)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every send has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=self._return_exceptions)


class WebhookOutbox(BackgroundSends):
    """Background sends through one HTTP client: the given one, or one made here (5 s timeout) and closed by
    `aclose()`."""

    def __init__(self, client: httpx2.AsyncClient | None = None) -> None:
        super().__init__()
        self._owns_client = client is None
        self.webhook_client = client or httpx2.AsyncClient(timeout=5.0)

    async def aclose(self) -> None:
        """Finish pending webhooks and close the HTTP client made for them."""
        await self.drain()
        if self._owns_client:
            await self.webhook_client.aclose()


@dataclass
class Delivery:
    """One webhook and the status of each attempt (None where no answer came)."""

    url: str
    body: bytes
    headers: dict[str, str]
    statuses: list[int | None] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON body."""
        body: dict[str, Any] = json.loads(self.body)
        return body


def delivery_log(deliveries: list[Delivery]) -> dict[str, Any]:
    """The sandbox admin view of the webhooks sent: each one's URL, payload and the status of each attempt."""
    return {"results": [{"url": d.url, "payload": d.payload, "statuses": d.statuses} for d in deliveries]}


@dataclass(frozen=True)
class Retries:
    """How a provider retries a webhook: the waits before each retry after the first attempt, the statuses after
    which it gives up, and the header, if any, that numbers each attempt from 0."""

    delays_s: tuple[float, ...]
    final_statuses: frozenset[int]
    attempt_header: str | None = None


class RetriedWebhooks(WebhookOutbox):
    """Webhooks POSTed as given, retried on connection errors and on statuses that are neither 2xx nor final;
    `deliveries` holds every webhook sent, in order."""

    def __init__(self, retries: Retries, client: httpx2.AsyncClient | None = None) -> None:
        super().__init__(client)
        self.retries = retries
        self.deliveries: list[Delivery] = []

    def send_webhook(self, url: str, body: bytes, headers: dict[str, str]) -> Delivery:
        """Record a webhook and start delivering it."""
        delivery = Delivery(url, body, headers)
        self.deliveries.append(delivery)
        self.start(self._deliver(delivery))
        return delivery

    async def _deliver(self, delivery: Delivery) -> None:
        numbered = self.retries.attempt_header
        for attempt, delay in enumerate((0.0, *self.retries.delays_s)):
            await asyncio.sleep(delay)
            headers = delivery.headers if numbered is None else {**delivery.headers, numbered: str(attempt)}
            try:
                response = await self.webhook_client.post(delivery.url, content=delivery.body, headers=headers)
            except httpx2.HTTPError:
                delivery.statuses.append(None)
                continue
            delivery.statuses.append(response.status_code)
            if response.is_success or response.status_code in self.retries.final_statuses:
                return
