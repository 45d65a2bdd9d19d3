"""Settings → Integrations sets every connector up end to end, over HTTP: the card's form as a browser would submit
it (secrets write-only), Test & Save against the helpdesk's sandbox, the status, the webhook URL the helpdesk is
given (or, for a helpdesk without webhooks, the note that a worker must run), and a rep's reply that comes back
through it. Each connector has its own setup steps and troubleshooting: a new connector without them fails here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from relaydesk.connectors import forms
from relaydesk.connectors.intercom.webhooks import WEBHOOK_TOPICS
from relaydesk.connectors.registry import CONNECTORS
from relaydesk.web.dashboard.i18n import EN, setup_steps, t, troubleshooting
from relaydesk.web.dashboard.integrations import receives_webhooks
from tests.connectors.contract import Stack, stack_with
from tests.dashboard.conftest import OWNER, Desk, add_people, sign_in
from tests.helpers import api

NAMES = sorted(CONNECTORS)
# Where each sandbox takes the webhook URL an admin copies from the card (HubSpot's is registered by relaydesk).
PASTE_WEBHOOK_URL: dict[str, Callable[[Any, str], None]] = {
    "hubspot": lambda driver, url: None,
    "intercom": lambda driver, url: setattr(driver.sandbox, "webhook_url", url),
    "freshchat": lambda driver, url: setattr(driver.sandbox, "webhook_url", url),
    "creatio": lambda driver, url: setattr(driver.sandbox.processes, "webhook_url", url),
}


class CardForm(HTMLParser):
    """One connector's card as a browser sees it: what its form submits as rendered, and which inputs are secret."""

    def __init__(self, page: str, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        start = page.index(f'id="connector-{name}"')
        self.html = page[start:page.index("</section>", start)]
        self.feed(self.html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name", "")
        if tag == "input" and name:
            self.kinds[name] = found.get("type", "text")
            if found.get("type") != "checkbox" or "checked" in found:
                self.values[name] = "on" if found.get("type") == "checkbox" else found.get("value", "")
        elif tag == "select":
            self._select = name
            self.kinds[name] = "select"
        elif tag == "option" and self._select and ("selected" in found or self._select not in self.values):
            self.values[self._select] = found.get("value", "")
        elif tag == "textarea" and name:
            self._textarea, self.kinds[name], self.values[name] = name, "textarea", ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def filled(self, settings: dict[str, Any]) -> dict[str, str]:
        """The form as submitted after an admin typed these settings into it."""
        typed = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in settings.items()}
        return {**self.values, **typed}

    @property
    def status(self) -> str:
        found = re.search(r"data-status>([^<]+)<", self.html)
        assert found, "the card shows no status"
        return found.group(1)

    @property
    def webhook_url(self) -> str | None:
        found = re.search(r'value="([^"]+)" [^>]*data-webhook-url', self.html)
        return unescape(found.group(1)) if found else None

    @property
    def connect_url(self) -> str | None:
        found = re.search(r'href="([^"]+)" data-connect', self.html)
        return unescape(found.group(1)) if found else None


@pytest.mark.parametrize("name", NAMES)
def test_every_connector_has_its_own_setup_steps_and_troubleshooting(name: str) -> None:
    assert f"setup.{name}.1" in EN, f"{name} has no setup steps in the dashboard"
    assert f"troubleshoot.{name}.1" in EN, f"{name} has no troubleshooting hints in the dashboard"
    assert len(setup_steps(name)) >= 3 and troubleshooting(name)
    others = [setup_steps(other) for other in NAMES if other != name]
    assert setup_steps(name) not in others, "the steps must be the connector's own"
    if receives_webhooks(CONNECTORS[name]):
        assert f"webhook.{name}" in EN, f"{name} does not say where its webhook URL goes"


def test_a_connector_without_setup_steps_is_a_bug_not_a_blank_card() -> None:
    with pytest.raises(KeyError):
        setup_steps("a-sixth-helpdesk")


async def test_the_page_shows_each_connector_with_its_own_help(desk: Desk) -> None:
    await sign_in(desk.client, OWNER)
    page = (await desk.client.get("/app/settings/integrations")).text
    for name, cls in CONNECTORS.items():
        card = CardForm(page, name)
        text = unescape(card.html)
        assert all(step in text for step in setup_steps(name)) and all(h in text for h in troubleshooting(name))
        model = cls.settings_model
        assert set(card.kinds) - {"csrf", "_handoff_target"} == set(model.model_fields) - set(
            forms.readonly_fields(model)), f"{name}: every setting an admin types has an input"
        assert all(card.kinds[s] == "password" and card.values[s] == "" for s in forms.secret_fields(model))
        assert card.status == "Inactive" and card.webhook_url is None
        worker_note = t("integrations.worker_needed", title=cls.title)
        assert (worker_note in text) is not receives_webhooks(cls)
    intercom = unescape(CardForm(page, "intercom").html)
    assert len(WEBHOOK_TOPICS) == 9 and all(topic in intercom for topic in WEBHOOK_TOPICS)


async def test_an_unreadable_json_setting_is_named_and_nothing_is_saved(desk: Desk) -> None:
    csrf = await sign_in(desk.client, OWNER)
    page = (await desk.client.get("/app/settings/integrations")).text
    form = CardForm(page, "creatio").filled({"instance_url": "https://acme.creatio.com", "ai_fields": "[{oops"})
    response = await desk.client.post("/app/settings/integrations/creatio", data={**form, "csrf": csrf})
    assert response.status_code == 422
    assert "AI-filled fields: not valid JSON" in unescape(response.text)
    assert (await desk.client.get("/api/v1/integrations", headers=api(desk.api_key))).json() == []


async def connect_account(stack: Stack, connect_url: str) -> None:
    """Grant access at the helpdesk (the sandbox approves at once) and come back through relaydesk's callback."""
    async with httpx2.AsyncClient() as browser:
        granted = await browser.get(connect_url, follow_redirects=False)
    assert granted.status_code == 302, granted.text
    callback = urlsplit(granted.headers["location"])
    back = await stack.client.get(f"{callback.path}?{callback.query}")
    assert back.status_code in (200, 303), back.text


async def rep_reply_arrives(stack: Stack, driver: Any) -> None:
    """A widget visitor is handed off; the rep's reply in the helpdesk comes back to the session."""
    visitor = await stack.visitor(name="Jane Doe")
    session_id = await stack.chat(visitor, ("visitor", "My invoice was charged twice"))
    await stack.hand_off(session_id)
    await stack.settled(session_id)
    driver.rep_reply(session_id, "Hi Jane, Ada here. Refunding the second charge now.")
    await driver.drain()

    async def replied() -> bool:
        return any(m["author"] == "rep" and "Ada here" in m["text"] for m in await stack.messages(session_id))

    await stack.wait_for(replied)


@pytest.mark.parametrize("name", NAMES)
async def test_each_connector_is_set_up_in_settings_end_to_end(name: str, tmp_path: Path) -> None:
    async with stack_with(name, f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as (stack, driver):
        await add_people(stack.app, stack.workspace_id)
        csrf = await sign_in(stack.client, OWNER)
        settings = driver.settings()
        secrets = [str(settings[s]) for s in forms.secret_fields(CONNECTORS[name].settings_model) if s in settings]
        form = CardForm((await stack.client.get("/app/settings/integrations")).text, name)
        saved = await stack.client.post(f"/app/settings/integrations/{name}",
                                        data={**form.filled(settings), "csrf": csrf, "_handoff_target": "on"})
        assert saved.status_code == 303, re.findall(r"data-check-error>(.*?)</div>", unescape(saved.text), re.S)
        page = await stack.client.get(saved.headers["location"].removeprefix(str(stack.client.base_url)))
        assert f"{CONNECTORS[name].title} saved" in unescape(page.text)
        card = CardForm(page.text, name)
        if card.connect_url:  # the credentials work; the account is connected next (OAuth)
            assert card.status == "Inactive"
            await connect_account(stack, card.connect_url)
            page = await stack.client.get("/app/settings/integrations")
            card = CardForm(page.text, name)
        assert card.status == "Active", card.html
        assert not any(secret.strip() in page.text for secret in secrets), "a secret was rendered"
        assert all(card.values[s] == "" for s in forms.secret_fields(CONNECTORS[name].settings_model))

        shown = (await stack.client.get(f"/api/v1/integrations/{name}", headers=stack.admin)).json()
        assert shown["is_handoff_target"] and shown["status"] == "active"
        if receives_webhooks(CONNECTORS[name]):
            assert card.webhook_url == shown["webhook_url"]
            PASTE_WEBHOOK_URL[name](driver, card.webhook_url)
        else:
            assert card.webhook_url is None and "data-worker-note" in card.html

        again = await stack.client.post(f"/app/settings/integrations/{name}",
                                        data={**card.values, "csrf": csrf, "_handoff_target": "on"})
        assert again.status_code == 303, "saving with the secrets left empty keeps them"
        assert CardForm((await stack.client.get("/app/settings/integrations")).text, name).status == "Active"
        await rep_reply_arrives(stack, driver)
