"""A helpdesk's secrets never leave relaydesk: not in answers, not in logs (even at debug level), not in plain text
in the database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from relaydesk.logs import configure_logging
from tests.connectors.contract import DRIVERS, stack_with


@pytest.mark.parametrize("connector", sorted(DRIVERS))
async def test_secrets_appear_in_no_answer_log_line_or_stored_column(
    connector: str, database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("debug", json_output=True)
    try:
        answers, stored, secrets = await _run(connector, database_url, tmp_path)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    logged = capfd.readouterr().err
    assert "delivery.attempt" in logged, "the log capture saw the run"
    for secret in secrets:
        assert secret not in logged, "a secret was logged"
        assert all(secret not in answer for answer in answers), "a secret was answered"
        assert all(secret not in row for row in stored), "a secret was stored in plain text"


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
            stored = [str(row) for row in (await db.execute(text("SELECT settings, secrets FROM integrations")))]
        return answers, stored, _secrets(connector, helpdesk)


def _secrets(connector: str, helpdesk: Any) -> list[str]:
    settings = helpdesk.settings()
    named = [value for key, value in settings.items() if "secret" in key or "key" in key or "password" in key]
    issued: list[str] = []
    if connector == "hubspot":
        state = helpdesk.sandbox.state
        issued = [*state.access_tokens, *state.refresh_tokens]
        assert issued, "the OAuth exchange issued tokens"
    assert named and all(len(value) >= 8 for value in named)
    return [*named, *issued]
