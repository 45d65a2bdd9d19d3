"""`relaydesk integrations …`: check a workspace's integration against its helpdesk from the command line."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx2
import typer

from relaydesk.config import Settings

integrations_app = typer.Typer(help="Helpdesk integrations.", no_args_is_help=True)


async def _check(settings: Settings, name: str, workspace_id: str | None) -> tuple[bool, str]:
    from sqlalchemy import select

    from relaydesk.connectors.base import CheckFailed
    from relaydesk.connectors.registry import connector_class
    from relaydesk.connectors.store import IntegrationStore
    from relaydesk.core.db import Database, upgrade
    from relaydesk.core.integrations import Integration
    from relaydesk.crypto import SecretBox, load_or_create_secret_key

    connector_class(name)
    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    store = IntegrationStore(db, SecretBox(load_or_create_secret_key(secret, settings.data_dir)), settings.public_url)
    try:
        async with db.read() as session:
            query = select(Integration).where(Integration.connector == name)
            if workspace_id:
                query = query.where(Integration.workspace_id == workspace_id)
            found = list((await session.scalars(query)).all())
        if not found:
            return False, f"no {name} integration" + (f" in workspace {workspace_id}" if workspace_id else "")
        if len(found) > 1:
            ids = ", ".join(i.workspace_id for i in found)
            return False, f"{len(found)} workspaces have a {name} integration ({ids}); name one with --workspace"
        integration = found[0]
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(settings.delivery_timeout_s, connect=5.0)) as http:
            try:
                report = await store.connector(integration, http).check()
            except CheckFailed as exc:
                await store.set_status(integration.id, "error", exc.reason)
                where = f" (setting: {exc.setting})" if exc.setting else ""
                return False, f"{name}: {exc.reason}{where}"
        await store.set_status(integration.id, "active" if report.connected else "inactive",
                               None if report.connected else report.summary)
        return report.connected, f"{name}: {report.summary}"
    finally:
        await db.dispose()


@integrations_app.command("check")
def check(
    name: Annotated[str, typer.Argument(help="the connector, e.g. hubspot")],
    workspace: Annotated[str | None, typer.Option(help="workspace id (needed when several have one)")] = None,
) -> None:
    """Validate an integration's credentials and options against the helpdesk; exit 1 with the reason if not."""
    ok, message = asyncio.run(_check(Settings(), name, workspace))
    typer.echo(message, err=not ok)
    if not ok:
        raise typer.Exit(1)
