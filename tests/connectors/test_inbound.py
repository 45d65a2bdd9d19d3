"""Inbound events are applied once and recorded only when they changed something."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from relaydesk.connectors.base import InboundBatch, InboundEvent, SessionRef
from relaydesk.connectors.inbound import InboundProcessor
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.integrations import InboundReceipt
from tests.connectors.contract import stack_with


async def test_an_event_is_recorded_once_it_changed_something_and_a_repeat_is_a_duplicate(
    database_url: str, tmp_path: Path
) -> None:
    async with stack_with("hubspot", database_url, tmp_path) as (relaydesk, helpdesk):
        await helpdesk.connect(relaydesk)
        visitor = await relaydesk.visitor(name="Jane Doe")
        session_id = await relaydesk.chat(visitor, ("visitor", "My invoice is wrong"))
        await relaydesk.hand_off(session_id)
        runtime = relaydesk.app.state.runtime
        integration = await IntegrationStore(runtime.db, runtime.box, "").find(relaydesk.workspace_id, "hubspot")
        assert integration is not None
        processor = InboundProcessor(runtime.db, runtime.conversations)

        async def receipts() -> int:
            async with runtime.db.read() as db:
                return int(await db.scalar(select(func.count()).select_from(InboundReceipt)) or 0)

        before = await receipts()
        stray = InboundEvent("evt-stray", "rep_message", SessionRef(session_id="no-such-session"), text="hello")
        ignored = await processor.apply(integration, InboundBatch([stray]))
        assert ignored.applied == [] and ignored.ignored and await receipts() == before

        reply = InboundEvent("evt-1", "rep_message", SessionRef(session_id=session_id), text="On it.",
                             author_name="Ada")
        first = await processor.apply(integration, InboundBatch([reply]))
        again = await processor.apply(integration, InboundBatch([reply]))
        assert first.applied == ["evt-1"] and again.duplicates == ["evt-1"]
        assert await receipts() == before + 1
        assert [m["text"] for m in await relaydesk.messages(session_id)].count("On it.") == 1
