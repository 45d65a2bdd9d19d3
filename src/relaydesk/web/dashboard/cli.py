"""`relaydesk user …`: dashboard accounts from the command line, and the demo's owner login."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from relaydesk.config import Settings
from relaydesk.core.db import Database, upgrade
from relaydesk.core.errors import DomainError
from relaydesk.core.users import Role, Users

app = typer.Typer(no_args_is_help=True)

DEMO_LOGIN_FILE = "demo-login.json"
DEMO_OWNER_EMAIL = "owner@demo.relaydesk.test"


@app.callback()
def users() -> None:
    """Dashboard users: who signs in, to which workspace, with which role."""


async def _add(settings: Settings, workspace_id: str, email: str, role: Role, password: str | None,
               name: str | None) -> None:
    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        await Users(db).add_member(workspace_id, email, role, password=password, name=name)
    finally:
        await db.dispose()


@app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="the person's email, their sign-in name")],
    workspace: Annotated[str, typer.Option(help="workspace id")],
    role: Annotated[Role, typer.Option(help="owner, admin or agent")] = Role.AGENT,
    name: Annotated[str | None, typer.Option(help="the name teammates see")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Give a person a role in a workspace; a new account needs a password (asked for, or read from stdin)."""
    if password_stdin:
        password: str | None = sys.stdin.readline().rstrip("\n") or None
    else:
        password = typer.prompt("password (empty: the account exists already)", default="", hide_input=True,
                                show_default=False) or None
    try:
        asyncio.run(_add(Settings(), workspace, email, role, password, name))
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{email} is {role.value} of workspace {workspace}")


async def ensure_demo_owner(settings: Settings, workspace_id: str) -> dict[str, str]:
    """The demo workspace's owner login (created once, kept beside the demo's other credentials)."""
    path = Path(settings.data_dir) / DEMO_LOGIN_FILE
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    login = {"email": DEMO_OWNER_EMAIL, "password": secrets.token_urlsafe(12)}
    db = Database(settings.resolved_database_url)
    try:
        await Users(db).add_member(workspace_id, login["email"], Role.OWNER, password=login["password"],
                                   name="Demo owner")
    finally:
        await db.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(login, indent=2))
    path.chmod(0o600)
    return login
