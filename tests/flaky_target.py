"""A receiver of outgoing webhooks that fails on purpose: errors, hangs past the client timeout, 429s."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.core import webhooks_out


@dataclass
class Receipt:
    webhook_id: str
    session_id: str
    seq: int
    at: float


@dataclass
class FlakyTarget:
    """Fails each message's first attempt(s) according to `plan(webhook_id, attempt)`; records what it accepts."""

    secret: str = ""
    hang_s: float = 0.0
    retry_after_s: int = 1
    receipts: list[Receipt] = field(default_factory=list)
    attempts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    faults: dict[str, str] = field(default_factory=dict)
    bad_signatures: int = 0

    def plan(self, webhook_id: str, attempt: int) -> str:
        """'ok', or the fault for this attempt: a deterministic spread over the messages."""
        if attempt > 1:
            return "ok"
        bucket = sum(webhook_id.encode()) % 10
        return {0: "error", 3: "error", 5: "hang", 7: "rate_limited"}.get(bucket, "ok")

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.secret and not webhooks_out.verify(self.secret, headers, body):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        webhook_id = headers["webhook-id"]
        self.attempts[webhook_id].append(time.monotonic())
        fault = self.plan(webhook_id, len(self.attempts[webhook_id]))
        self.faults.setdefault(webhook_id, fault)
        if fault == "error":
            return JSONResponse({"error": "temporarily broken"}, status_code=503)
        if fault == "rate_limited":
            return JSONResponse({"error": "slow down"}, status_code=429,
                                headers={"Retry-After": str(self.retry_after_s)})
        if fault == "hang":
            # Processed, but the answer comes after the sender gave up: the retry repeats the same webhook-id.
            await asyncio.sleep(self.hang_s)
        event = json.loads(body)
        data = event["data"]
        self.receipts.append(Receipt(webhook_id, data["session_id"], int(data["seq"]), time.monotonic()))
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])

    def first_receipts(self) -> list[Receipt]:
        """Receipts with repeats of a webhook-id dropped, as an idempotent receiver would."""
        seen: set[str] = set()
        unique = []
        for receipt in self.receipts:
            if receipt.webhook_id not in seen:
                seen.add(receipt.webhook_id)
                unique.append(receipt)
        return unique
