"""Plugs the connectors into a runtime: the outbox producer and the delivery handler of every connector job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaydesk.connectors import outbound
from relaydesk.connectors.salesforce import stream as salesforce_streams
from relaydesk.connectors.store import IntegrationStore

if TYPE_CHECKING:
    from relaydesk.web.runtime import Runtime


async def install(runtime: Runtime) -> None:
    """Register the connectors' producer and handlers (once, however often it is called)."""
    if outbound.produce in runtime.conversations.producers:
        return
    store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
    jobs = outbound.ConnectorJobs(store, runtime.conversations, runtime.http)
    runtime.add_producer(outbound.produce)
    for kind in outbound.KINDS:
        runtime.handlers[kind] = jobs
    await salesforce_streams.install(runtime)
