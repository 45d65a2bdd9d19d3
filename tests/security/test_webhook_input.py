"""Whatever arrives at a connector's webhook URL, relaydesk answers a clear 4xx and changes nothing unless it is a
correctly signed event of that integration."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from relaydesk.core.integrations import InboundReceipt
from relaydesk.core.models import Message
from tests.connectors.contract import DRIVERS, Stack, stack_with

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "application/json"),
    ("not json", b"{{{ nope", "application/json"),
    ("json of the wrong shape", b'[1, "two", {"three": null}]', "application/json"),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, "application/json"),
    ("binary", bytes(range(256)) * 4, "application/octet-stream"),
    ("form", b"a=1&b=2", "application/x-www-form-urlencoded"),
]


async def _counts(stack: Stack) -> tuple[int, int]:
    async with stack.app.state.runtime.db.read() as db:
        messages = int(await db.scalar(select(func.count()).select_from(Message)) or 0)
        receipts = int(await db.scalar(select(func.count()).select_from(InboundReceipt)) or 0)
    return messages, receipts


@pytest.mark.parametrize("connector", sorted(DRIVERS))
async def test_malformed_oversized_unsigned_and_misaddressed_webhooks_change_nothing(
    connector: str, database_url: str, tmp_path: Path
) -> None:
    async with stack_with(connector, database_url, tmp_path) as (relaydesk, helpdesk):
        await helpdesk.connect(relaydesk)
        visitor = await relaydesk.visitor(name="Jane Doe")
        session_id = await relaydesk.chat(visitor, ("visitor", "My invoice is wrong"))
        await relaydesk.hand_off(session_id)
        await relaydesk.settled(session_id)
        await helpdesk.drain()  # the helpdesk's own events about the handoff (an assignment) land first
        await relaydesk.settled(session_id)
        shown = (await relaydesk.client.get(f"/api/v1/integrations/{connector}", headers=relaydesk.admin)).json()
        url = urlsplit(shown["webhook_url"])
        key = parse_qs(url.query)["key"][0]
        before = await _counts(relaydesk)

        async def post(path: str, body: bytes, content_type: str, query: str) -> int:
            response = await relaydesk.client.post(f"{path}?{query}" if query else path, content=body,
                                                   headers={"content-type": content_type})
            assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:200])
            assert response.json()["error"]["message"]
            return response.status_code

        for _name, body, content_type in BAD_BODIES:
            assert await post(url.path, body, content_type, url.query) in (400, 401, 415, 422)
        huge = b'{"x": "' + b"a" * (relaydesk.app.state.runtime.settings.max_body_bytes + 1) + b'"}'
        assert await post(url.path, huge, "application/json", url.query) == 413
        assert await post(url.path, b"{}", "application/json", "") == 401
        assert await post(url.path, b"{}", "application/json", "key=" + "x" * len(key)) == 401
        other = url.path.rsplit("/", 1)[0] + "/" + "0" * 32
        assert await post(other, b"{}", "application/json", url.query) == 404
        assert await _counts(relaydesk) == before
