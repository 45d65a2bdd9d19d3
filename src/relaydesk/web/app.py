"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from relaydesk import __version__
from relaydesk.channels.widget import pages as widget_pages
from relaydesk.config import Settings
from relaydesk.logs import configure_logging
from relaydesk.web import admin_api, admin_more_api, errors, health, integrations_api, webhooks_in, widget_api
from relaydesk.web.dashboard.site import create_dashboard
from relaydesk.web.middleware import BodyLimit, RequestContext
from relaydesk.web.runtime import Runtime


def create_app(
    settings: Settings | None = None, *, run_workers: bool | None = None, configure_logs: bool = True
) -> FastAPI:
    """The whole HTTP surface of one relaydesk process."""
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)
    workers = settings.in_process_workers if run_workers is None else run_workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, run_workers=workers)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="relaydesk",
        version=__version__,
        summary="AI front door for customer support, with handoff to your helpdesk.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(widget_api.router)
    app.include_router(widget_pages.router)
    app.include_router(admin_api.router)
    app.include_router(admin_more_api.router)
    app.mount("/app", create_dashboard(app))
    app.include_router(integrations_api.router)
    app.include_router(webhooks_in.router)
    # Multipart framing adds a little to the file itself.
    uploads = {widget_api.UPLOAD_PATH: settings.max_upload_bytes + 64 * 1024}
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, per_path=uploads)
    app.add_middleware(RequestContext)
    return app
