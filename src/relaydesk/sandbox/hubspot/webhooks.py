"""Delivery of HubSpot's webhooks: app subscription events and custom-channel events, signed and retried.

App events follow https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide: a JSON
array POSTed to the app's target URL, signed with v1 (X-HubSpot-Signature-Version: v1) and v3,
retried on connection failures, timeouts and any status but 400, 401, 403, 404 and 405, with
`attemptNumber` counting attempts. Custom-channel events go to the channel's webhookUrl as one
JSON object (https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide);
they carry the v3 signature, and the sandbox adds the v2 one of HubSpot's other app requests.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx2

from relaydesk.sandbox.deliveries import WebhookOutbox
from relaydesk.sandbox.hubspot.config import RetryPolicy
from relaydesk.sandbox.hubspot.signature import signature_v1, signature_v2, signature_v3

FINAL_STATUSES = frozenset({400, 401, 403, 404, 405})


class DeliveryKind(StrEnum):
    """Which webhook family a delivery belongs to."""

    APP = "app"
    CUSTOM_CHANNEL = "custom_channel"


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass
class DeliveryAttempt:
    """One POST of a delivery and what came back."""

    number: int
    status: int | None
    error: str | None
    headers: dict[str, str]
    body: bytes


@dataclass
class Delivery:
    """A webhook the sandbox sends, with every attempt made."""

    id: str
    kind: DeliveryKind
    url: str
    payload: Any
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A summary for the sandbox admin API."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "url": self.url,
            "state": self.state.value,
            "payload": self.payload,
            "attempts": [{"number": a.number, "status": a.status, "error": a.error} for a in self.attempts],
        }


class WebhookSender(WebhookOutbox):
    """Signs and POSTs webhooks in the background, retrying like HubSpot; `drain()` waits for them. Without a
    `client` it makes one, which `aclose()` closes."""

    def __init__(
        self,
        client: httpx2.AsyncClient | None,
        client_secret: str,
        policy: RetryPolicy,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(client)
        self.client_secret = client_secret
        self.policy = policy
        self.now_ms = now_ms
        self.jitter = jitter
        self.deliveries: list[Delivery] = []

    def send_app_events(self, url: str, events: list[dict[str, Any]]) -> Delivery:
        """Queue one batch of app subscription events for the app's target URL."""
        delivery = Delivery(str(uuid.uuid4()), DeliveryKind.APP, url, events)
        return self._start(delivery)

    def send_channel_event(self, url: str, event: dict[str, Any]) -> Delivery:
        """Queue one custom-channel event for the channel's webhook URL."""
        delivery = Delivery(str(uuid.uuid4()), DeliveryKind.CUSTOM_CHANNEL, url, event)
        return self._start(delivery)

    def _start(self, delivery: Delivery) -> Delivery:
        self.deliveries.append(delivery)
        self.start(self._deliver(delivery))
        return delivery

    def body_for(self, delivery: Delivery, attempt: int) -> bytes:
        """The exact bytes sent on one attempt; app events carry their attempt number."""
        payload = delivery.payload
        if delivery.kind is DeliveryKind.APP:
            payload = [{**event, "attemptNumber": attempt} for event in delivery.payload]
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def headers_for(self, delivery: Delivery, body: bytes) -> dict[str, str]:
        """Content type and signature headers for one attempt."""
        timestamp = str(self.now_ms())
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": signature_v3(self.client_secret, "POST", delivery.url, body, timestamp),
            "X-HubSpot-Timeout-Millis": str(int(self.policy.timeout_seconds * 1000)),
        }
        if delivery.kind is DeliveryKind.APP:
            headers["X-HubSpot-Signature"] = signature_v1(self.client_secret, body)
            headers["X-HubSpot-Signature-Version"] = "v1"
        else:
            headers["X-HubSpot-Signature"] = signature_v2(self.client_secret, "POST", delivery.url, body)
            headers["X-HubSpot-Signature-Version"] = "v2"
        return headers

    async def _deliver(self, delivery: Delivery) -> None:
        for attempt in range(self.policy.max_retries + 1):
            body = self.body_for(delivery, attempt)
            headers = self.headers_for(delivery, body)
            retry_after: float | None = None
            try:
                response = await self.webhook_client.post(
                    delivery.url, content=body, headers=headers, timeout=self.policy.timeout_seconds
                )
            except httpx2.HTTPError as exc:
                delivery.attempts.append(DeliveryAttempt(attempt, None, type(exc).__name__, headers, body))
            else:
                delivery.attempts.append(DeliveryAttempt(attempt, response.status_code, None, headers, body))
                if response.is_success:
                    delivery.state = DeliveryState.DELIVERED
                    return
                if response.status_code in FINAL_STATUSES:
                    break
                if response.status_code == 429:
                    retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt < self.policy.max_retries:
                await asyncio.sleep(self.policy.delay(attempt + 1, retry_after, self.jitter()))
        delivery.state = DeliveryState.FAILED


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
