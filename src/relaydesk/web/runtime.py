"""The long-lived parts one process runs with: database, bus, services, HTTP client and in-process workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx2
import structlog

from relaydesk.config import Settings
from relaydesk.core import webhooks_out
from relaydesk.core.bus import Bus, create_bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database, upgrade
from relaydesk.core.delivery import DeliveryWorker, Handler
from relaydesk.core.producers import Producer
from relaydesk.crypto import SecretBox, load_or_create_secret_key

log = structlog.get_logger(__name__)


Installer = Callable[["Runtime"], Awaitable[None]]
Service = Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # runs until the event is set; started with the workers


def default_installers() -> list[Installer]:
    """The parts every process runs with: each adds its producers and delivery handlers to the runtime."""
    from relaydesk.agent import responder
    from relaydesk.connectors import install as connectors

    return [responder.install, connectors.install]


@dataclass
class Runtime:
    """Everything one process holds; the agent and the connectors extend it through installers."""

    settings: Settings
    db: Database
    bus: Bus
    box: SecretBox
    http: httpx2.AsyncClient
    conversations: Conversations
    handlers: dict[str, Handler] = field(default_factory=dict)
    worker: DeliveryWorker | None = None
    services: dict[str, Service] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        run_workers: bool,
        http: httpx2.AsyncClient | None = None,
        installers: list[Installer] | None = None,
    ) -> Runtime:
        """Connect everything; migrate first when configured to; start in-process workers when asked."""
        url = settings.resolved_database_url
        if settings.auto_migrate:
            await upgrade(url)
        db = Database(url)
        bus = create_bus(settings.redis_url)
        await bus.start()
        box = SecretBox(
            load_or_create_secret_key(
                settings.secret_key.get_secret_value() if settings.secret_key else None, settings.data_dir
            )
        )
        client = http or httpx2.AsyncClient(timeout=httpx2.Timeout(settings.delivery_timeout_s, connect=5.0))
        runtime = cls(settings=settings, db=db, bus=bus, box=box, http=client, conversations=Conversations(db, bus))
        runtime.handlers[webhooks_out.KIND] = webhooks_out.WebhookSender(db, box, client)
        for install in default_installers() if installers is None else installers:
            await install(runtime)
        if run_workers:
            runtime.start_worker()
        return runtime

    def add_producer(self, producer: Producer) -> None:
        self.conversations.producers.append(producer)

    def add_service(self, name: str, service: Service) -> None:
        """A long-running part (e.g. a helpdesk's event stream consumer) that runs wherever the workers run."""
        self.services[name] = service

    def start_worker(self) -> DeliveryWorker:
        self.worker = DeliveryWorker(self.db, self.bus, self.settings, self.handlers)
        self._tasks.append(asyncio.create_task(self.worker.run(self._stop), name="delivery-worker"))
        for name, service in self.services.items():
            self._tasks.append(asyncio.create_task(service(self._stop), name=name))
        return self.worker

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, self.settings.delivery_timeout_s + 5)
        await self.http.aclose()
        await self.bus.close()
        await self.db.dispose()
