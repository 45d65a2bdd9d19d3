"""Outgoing webhooks to the customer's own systems, signed with the Standard Webhooks scheme.

Headers `webhook-id`, `webhook-timestamp` and `webhook-signature` ("v1," + base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}" keyed with the base64 part of a `whsec_` secret). The id is the outbox job's idempotency key,
so a retried delivery carries the same id and the receiver can drop the repeat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import httpx2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.core import outbox
from relaydesk.core.db import Database
from relaydesk.core.delivery import DeliveryError, DeliveryResult
from relaydesk.core.http_delivery import raise_for_delivery, transport_error
from relaydesk.core.models import WebhookEndpoint
from relaydesk.core.producers import Change
from relaydesk.crypto import SecretBox

KIND = "webhook.deliver"
EVENT_TYPES = (
    "session.created",
    "message.created",
    "session.handed_off",
    "session.rep_joined",
    "session.handed_back",
    "session.resolved",
    "session.closed",
    "session.reopened",
    "session.csat_submitted",
)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance_s: int = 300) -> bool:
    """Check a Standard Webhooks signature as a receiver would (used by tests and by customers' examples)."""
    try:
        timestamp = int(headers["webhook-timestamp"])
        expected = sign(secret, headers["webhook-id"], timestamp, body).split(",", 1)[1]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    given = [part.split(",", 1)[1] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


async def produce(tx: AsyncSession, change: Change) -> int:
    """The outbox producer: queue the change for every enabled endpoint of the workspace that wants it."""
    if change.type not in EVENT_TYPES:
        return 0
    endpoints = (
        await tx.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == change.workspace_id, WebhookEndpoint.enabled)
        )
    ).all()
    count = 0
    for endpoint in endpoints:
        if endpoint.events and change.type not in endpoint.events:
            continue
        outbox.enqueue(
            tx,
            workspace_id=change.workspace_id,
            session_id=change.session.id,
            target=f"webhook:{endpoint.id}",
            kind=KIND,
            payload={"endpoint_id": endpoint.id, "type": change.type, "data": change.data},
            idempotency_key=f"msg_{endpoint.id[:12]}_{change.key}",
        )
        count += 1
    return count


class WebhookSender:
    """The delivery handler for outgoing webhooks."""

    def __init__(self, db: Database, box: SecretBox, client: httpx2.AsyncClient) -> None:
        self.db = db
        self.box = box
        self.client = client

    async def __call__(self, job: outbox.Job) -> DeliveryResult:
        async with self.db.read() as db:
            endpoint = await db.get(WebhookEndpoint, job.payload["endpoint_id"])
        if endpoint is None or not endpoint.enabled:
            raise DeliveryError("webhook endpoint was deleted or disabled", permanent=True)
        body = json.dumps(
            {"type": job.payload["type"], "timestamp": job.created_at.isoformat(), "data": job.payload["data"]},
            separators=(",", ":"),
        ).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": job.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                self.box.decrypt(endpoint.secret_encrypted), job.idempotency_key, timestamp, body
            ),
        }
        what = f"POST {endpoint.url}"
        try:
            response = await self.client.post(endpoint.url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise transport_error(exc, what) from exc
        raise_for_delivery(response, what)
        return DeliveryResult({"status": response.status_code, "url": endpoint.url})
