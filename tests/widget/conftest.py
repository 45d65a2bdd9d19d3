"""Fixtures of the widget tests: a relaydesk server on a SQLite file that can be restarted on the same port, and
one Chromium per module."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn

from relaydesk.config import Settings
from relaydesk.core.conversations import Conversations, NewMessage
from tests.conftest import LiveServer, make_settings, service_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


class PortServer(LiveServer):
    """A live server on a port chosen by the caller, so a restarted server answers where the old one did."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        super().__init__(app)
        if port is not None:
            self.port = port
            self.url = f"http://127.0.0.1:{port}"
            self.server = uvicorn.Server(
                uvicorn.Config(
                    app, host="127.0.0.1", port=port, log_config=None, lifespan="on", timeout_graceful_shutdown=1
                )
            )


@dataclass
class Relaydesk:
    """A running relaydesk with one workspace."""

    settings: Settings
    server: PortServer
    app: Any
    workspace_id: str
    widget_token: str
    api_key: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def conversations(self) -> Conversations:
        conversations: Conversations = self.app.state.runtime.conversations
        return conversations

    async def post(self, session_id: str, **message: Any) -> None:
        """Write a message into a session through the core, as the agent or a connector does."""
        await self.conversations.post_message(self.workspace_id, session_id, NewMessage(**message))

    async def set_workspace_settings(self, **values: Any) -> None:
        from relaydesk.core.models import Workspace

        async with self.app.state.runtime.db.transaction() as tx:
            workspace = await tx.get(Workspace, self.workspace_id)
            workspace.settings = {**workspace.settings, **values}
        self.conversations.forget_credentials()

    async def restart(self) -> None:
        """Stop the server and start a new app on the same database file and port."""
        from relaydesk.web.app import create_app

        port = self.server.port
        await self.server.__aexit__(None, None, None)
        self.app = create_app(self.settings, configure_logs=False)
        self.server = PortServer(self.app, port)
        await self.server.__aenter__()


@contextlib.asynccontextmanager
async def running_relaydesk(data_dir: Path, **overrides: Any) -> AsyncIterator[Relaydesk]:
    from relaydesk.web.app import create_app

    settings = make_settings(f"sqlite:///{data_dir}/relaydesk.db", data_dir, **overrides)
    app = create_app(settings, configure_logs=False)
    server = PortServer(app)
    await server.__aenter__()
    workspace, key = await app.state.runtime.conversations.create_workspace("Larkbox")
    desk = Relaydesk(settings, server, app, workspace.id, workspace.widget_token, key)
    try:
        yield desk
    finally:
        await desk.server.__aexit__(None, None, None)


class ShopSite:
    """Another website, on its own origin (`http://localhost:PORT`), whose page embeds the widget."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse
        from starlette.routing import Route

        self.html = ""

        async def page(request: Any) -> HTMLResponse:
            return HTMLResponse(self.html)

        self.server = LiveServer(Starlette(routes=[Route("/", page)]))

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.server.port}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop() -> AsyncIterator[ShopSite]:
    site = ShopSite()
    async with site.server:
        yield site


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the module (Debian's package, driven by Playwright)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        service_missing("Playwright", exc)
    async with async_playwright() as playwright:
        try:
            chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            service_missing("Chromium", exc)
        yield chromium
        await chromium.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
