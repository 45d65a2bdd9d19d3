"""A helpdesk's secrets never leave relaydesk: not in answers, not in logs (even at debug level), not in plain text
in the database."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from relaydesk.agent.action_headers import MASK, HeaderOpener
from relaydesk.agent.actions import ActionDefinition
from relaydesk.connectors import forms
from relaydesk.connectors.registry import CONNECTORS, connector_class
from relaydesk.core.models import Base, Workspace
from relaydesk.logs import SQL_LOGGERS, configure_logging
from tests.conftest import app_client, make_settings
from tests.connectors.contract import DRIVERS, stack_with
from tests.dashboard.conftest import OWNER, add_people, sign_in
from tests.helpers import api, new_session, new_visitor


@contextlib.contextmanager
def debug_logs() -> Iterator[None]:
    """Log everything, as JSON, for the duration; the previous logging set-up comes back after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("debug", json_output=True)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def needles(secret: str) -> list[str]:
    """What would give a secret away: the whole value, and each long line of a multi-line one (a PEM key), since a
    JSON log line escapes the line breaks between them."""
    return [secret, *(line for line in secret.splitlines() if len(line) >= 20)]


def assert_kept(secrets: list[str], logged: str, answers: list[str], stored: list[str]) -> None:
    for secret in secrets:
        for needle in needles(secret):
            assert needle not in logged, "a secret was logged"
            assert all(needle not in answer for answer in answers), "a secret was answered"
            assert all(needle not in row for row in stored), "a secret was stored in plain text"


@pytest.mark.parametrize("connector", sorted(CONNECTORS))
async def test_secrets_appear_in_no_answer_log_line_or_stored_column(
    connector: str, database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if connector not in DRIVERS:
        pytest.fail(f"{connector} has no contract driver in tests/connectors/contract.py, so its secrets go untested")
    with debug_logs():
        answers, stored, secrets = await _run(connector, database_url, tmp_path)
    logged = capfd.readouterr().err
    assert "delivery.attempt" in logged, "the log capture saw the run"
    assert_kept(secrets, logged, answers, stored)


async def _run(connector: str, database_url: str, tmp_path: Path) -> tuple[list[str], list[str], list[str]]:
    """Connect, hand a conversation off, read everything back; the secrets in play at the end."""
    async with stack_with(connector, database_url, tmp_path) as (relaydesk, helpdesk):
        await helpdesk.connect(relaydesk)
        visitor = await relaydesk.visitor(name="Jane Doe")
        session_id = await relaydesk.chat(visitor, ("visitor", "My invoice is wrong"))
        await relaydesk.hand_off(session_id)
        await relaydesk.settled(session_id)
        answers: list[str] = []
        for path in (f"/api/v1/integrations/{connector}", "/api/v1/integrations",
                     f"/api/v1/sessions/{session_id}", "/api/v1/deliveries"):
            response = await relaydesk.client.get(path, headers=relaydesk.admin)
            assert response.status_code == 200, path
            answers.append(response.text)
        async with relaydesk.app.state.runtime.db.read() as db:
            stored = [str(tuple(row)) for row in (await db.execute(text("SELECT settings, secrets FROM integrations")))]
        return answers, stored, _secrets(connector, helpdesk)


def _secrets(connector: str, helpdesk: Any) -> list[str]:
    """The values of the connector's secret settings (SecretStr fields of its settings model), and tokens the
    helpdesk issued."""
    settings = helpdesk.settings()
    named = [str(settings[name]) for name in forms.secret_fields(connector_class(connector).settings_model)
             if settings.get(name)]
    issued: list[str] = []
    if connector == "hubspot":
        state = helpdesk.sandbox.state
        issued = [*state.access_tokens, *state.refresh_tokens]
        assert issued, "the OAuth exchange issued tokens"
    assert named and all(len(value) >= 8 for value in named)
    return [*named, *issued]


ACTION_HEADER = "Bearer action-credential-0001"
ACTION = {"name": "order_lookup", "description": "Look up an order by its number", "url": "https://shop.example/orders",
          "headers": {"Authorization": ACTION_HEADER}}


async def test_workspace_credentials_are_shown_once_and_never_logged_or_stored_plain(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """API keys, webhook signing secrets, contact tokens, passwords and dashboard cookies; AI action headers are
    never answered (their storage is the next test's)."""
    with debug_logs():
        answers, secrets, stored = await _workspace_secrets(tmp_path)
    logged = capfd.readouterr().err
    assert "widget.uploaded" in logged, "the log capture saw the run"
    assert_kept(secrets, logged, answers, stored)
    assert all(ACTION_HEADER not in answer for answer in answers), "an action header was answered"


async def test_ai_action_headers_are_encrypted_at_rest_and_never_logged(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    with debug_logs():
        async with app_client(settings, run_workers=False) as (client, app):
            _, key = await app.state.runtime.conversations.create_workspace("Larkbox")
            saved = await client.put("/api/v1/rules", headers=api(key), json={"actions": [ACTION]})
            assert saved.status_code == 200
            stored = await _rows(app)
    assert_kept([ACTION_HEADER], capfd.readouterr().err, [saved.text], stored)


async def test_a_masked_action_header_keeps_its_saved_value_and_a_mask_for_none_is_refused(tmp_path: Path) -> None:
    """Answers show header values as the mask; the mask sent back keeps the saved value, and sent for an action or a
    header that has none saved it is refused, never saved as the value."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        workspace, key = await app.state.runtime.conversations.create_workspace("Larkbox")
        await client.put("/api/v1/rules", headers=api(key), json={"actions": [ACTION]})
        shown = (await client.get("/api/v1/rules", headers=api(key))).json()
        assert shown["actions"][0]["headers"] == {"Authorization": MASK}
        shown["actions"][0]["description"] = "Look up an order by its number, with its parcels"
        assert (await client.put("/api/v1/rules", headers=api(key), json=shown)).status_code == 200
        assert await _sent_headers(app, workspace.id) == {"order_lookup": {"Authorization": ACTION_HEADER}}

        for action in ({**shown["actions"][0], "name": "order_history"},
                       {**shown["actions"][0], "headers": {"Authorization": MASK, "X-Shop": MASK}}):
            refused = await client.put("/api/v1/rules", headers=api(key), json={"actions": [action]})
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["code"] == "invalid_request"
        await add_people(app, workspace.id)
        csrf = await sign_in(client, OWNER)
        page = await client.post("/app/settings/ai/actions", data={"csrf": csrf, "definition": json.dumps(
            {**ACTION, "name": "order_history", "headers": {"Authorization": MASK}})})
        assert page.status_code == 422 and "order_history" in page.text
        assert await _sent_headers(app, workspace.id) == {"order_lookup": {"Authorization": ACTION_HEADER}}


async def test_action_headers_stored_plain_are_encrypted_at_start_and_still_sent(
    database_url: str, tmp_path: Path
) -> None:
    """Values saved before they were encrypted keep working, and the next start encrypts them in place."""
    settings = make_settings(database_url, tmp_path)
    async with app_client(settings, run_workers=False) as (_, app):
        workspace, _ = await app.state.runtime.conversations.create_workspace("Larkbox")
        async with app.state.runtime.db.transaction() as tx:
            (await tx.get(Workspace, workspace.id)).settings = {"agent": {"brain": "llm", "actions": [ACTION]}}
        assert await _sent_headers(app, workspace.id) == {"order_lookup": {"Authorization": ACTION_HEADER}}
    async with app_client(settings, run_workers=False) as (_, app):
        assert await _sent_headers(app, workspace.id) == {"order_lookup": {"Authorization": ACTION_HEADER}}
        assert all(ACTION_HEADER not in row for row in await _rows(app))
        assert (await _settings(app, workspace.id))["agent"]["actions"][0]["headers"] == {"Authorization": MASK}


async def test_debug_logs_carry_no_sql_parameters(
    database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """At debug level the app logs, but the SQL drivers do not: a secret written through the API appears in no log
    line, nor does what is stored for it."""
    settings = make_settings(database_url, tmp_path)
    with debug_logs():
        async with app_client(settings, run_workers=False) as (client, app):
            workspace, key = await app.state.runtime.conversations.create_workspace("Larkbox")
            logging.getLogger("relaydesk.test").debug("debug.logged")
            assert (await client.put("/api/v1/rules", headers=api(key), json={"actions": [ACTION]})).status_code == 200
            ciphertext = (await _settings(app, workspace.id))["action_headers"]["order_lookup"]["Authorization"]
    logged = capfd.readouterr().err
    assert "debug.logged" in logged, "the log capture saw debug lines"
    assert ACTION_HEADER not in logged and ciphertext not in logged
    loggers = {json.loads(line).get("logger", "") for line in logged.splitlines() if line.startswith("{")}
    assert not {name for name in loggers if name.split(".")[0] in SQL_LOGGERS}, loggers


async def _sent_headers(app: Any, workspace_id: str) -> dict[str, dict[str, str]]:
    """The headers each of the workspace's actions is called with, as the AI would send them."""
    settings = await _settings(app, workspace_id)
    opener = HeaderOpener.of(app.state.runtime.box, settings)
    return {action.name: opener(action) for action in
            (ActionDefinition.model_validate(a) for a in settings["agent"]["actions"])}


async def _settings(app: Any, workspace_id: str) -> dict[str, Any]:
    async with app.state.runtime.db.read() as db:
        workspace = await db.get(Workspace, workspace_id)
    assert workspace is not None
    return dict(workspace.settings)


async def _rows(app: Any) -> list[str]:
    """Every row of every table, as text (in full: a row's own repr shortens long values)."""
    async with app.state.runtime.db.read() as db:
        return [str(tuple(row)) for table in Base.metadata.sorted_tables
                for row in await db.execute(text(f'SELECT * FROM "{table.name}"'))]


async def _workspace_secrets(tmp_path: Path) -> tuple[list[str], list[str], list[str]]:
    """Make each kind of credential through the public surfaces, use it, then read back every page and answer that
    lists them; (later answers, secrets, stored rows)."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        workspace, first_key = await app.state.runtime.conversations.create_workspace("Larkbox")
        admin = api(first_key)
        new_key = (await client.post("/api/v1/api-keys", headers=admin, json={"name": "backend"})).json()["key"]
        signing = (await client.post("/api/v1/webhooks", headers=admin, json={"url": "http://127.0.0.1:9/in"})
                   ).json()["secret"]
        assert (await client.put("/api/v1/rules", headers=admin, json={"actions": [ACTION]})).status_code == 200
        visitor = await new_visitor(client, workspace.widget_token, name="Jane")
        await client.post(f"/api/widget/v1/sessions/{await new_session(client, visitor)}/messages",
                          headers=visitor.headers, json={"text": "hello"})
        uploaded = await client.post("/api/widget/v1/uploads", headers=visitor.headers,
                                     files={"file": ("notes.txt", b"order 1234", "text/plain")})
        assert uploaded.status_code == 201
        verified = (await client.post("/api/v1/contacts/authenticate", headers=api(new_key),
                                      json={"email": "jane@example.com", "anonymous_token": visitor.token})).json()
        listed = await client.get("/api/widget/v1/sessions", headers={
            "X-Widget-Token": workspace.widget_token, "Authorization": f"Bearer {verified['token']}"})
        assert listed.status_code == 200
        await add_people(app, workspace.id)
        await sign_in(client, OWNER)
        cookie = client.cookies["relaydesk_session"]
        answers = [(await client.get(path, headers=admin)).text for path in (
            "/api/v1/api-keys", "/api/v1/webhooks", "/api/v1/rules", "/app/team", "/app/settings/ai", "/app/inbox")]
        stored = await _rows(app)
    secrets = [first_key, new_key, signing, visitor.token, verified["token"], OWNER[1], cookie]
    return answers, secrets, stored
