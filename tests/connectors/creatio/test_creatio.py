"""Creatio specifics against the sandbox: AI-filled fields, assignment, both sign-ins, URL forms, contacts, files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from relaydesk.connectors.base import TranscriptMessage
from relaydesk.connectors.creatio import fields
from relaydesk.connectors.creatio.settings import AiField, AllowedValue, CreatioSettings
from relaydesk.sandbox.openai_compat import ChatSandbox, TextReply
from relaydesk.sandbox.openai_compat import create_app as create_chat_app
from tests.connectors.contract import CreatioDriver, Stack, stack_with

AREA = AiField(column="UsrProductArea", title="Product area", type="dropdown",
               instruction="Which product area the request is about",
               allowed_values=[AllowedValue(value="Billing", keywords=["invoice", "charge", "refund"]),
                               AllowedValue(value="Shipping", keywords=["delivery", "parcel", "tracking"]),
                               AllowedValue(value="Account access", keywords=["password", "login"])])
URGENCY = AiField(column="UsrUrgency", title="Urgency summary", type="text", instruction="One line for the rep")


@pytest.fixture
async def creatio(tmp_path: Path) -> AsyncIterator[tuple[Stack, CreatioDriver]]:
    async with stack_with("creatio", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as pair:
        yield pair


async def connect(relaydesk: Stack, driver: CreatioDriver, **changes: Any) -> dict[str, Any]:
    saved = await relaydesk.client.put("/api/v1/integrations/creatio", headers=relaydesk.admin,
                                       json={"settings": {**driver.settings(), **changes}})
    assert saved.status_code == 200, saved.text
    driver.sandbox.processes.webhook_url = saved.json()["webhook_url"]
    body: dict[str, Any] = saved.json()
    return body


async def handed_off(relaydesk: Stack, *turns: tuple[str, str], email: str | None = None) -> str:
    visitor = await (relaydesk.verified_visitor(email, "Jane Doe") if email else relaydesk.visitor(name="Jane Doe"))
    session_id = await relaydesk.chat(visitor, *turns)
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    return session_id


async def test_handoff_case_has_summary_ai_fields_owner_group_and_chat_origin(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver, ai_fields=[AREA.model_dump(), URGENCY.model_dump()])
    session_id = await handed_off(relaydesk, ("visitor", "I was charged twice on my invoice, I want a refund"),
                                  ("ai", "Let me look at your invoice."))
    case = driver.case(session_id)
    config, tables = driver.sandbox.config, driver.sandbox.tables
    assert case["Symptoms"] == "Invoice charged twice"
    assert case["UsrProductArea"] == "Billing" and case["UsrUrgency"] == "Invoice charged twice"
    assert case["OwnerId"] == config.reps[0].contact_id and case["GroupId"] == config.groups[0].group_id
    assert tables["CaseOrigin"][case["OriginId"]]["Name"] == "Chat"
    assert tables["CaseStatus"][case["StatusId"]]["Name"] == "New"
    assert f"relaydesk session: {session_id}" in case["Notes"]
    titles = [a["Title"] for a in tables["Activity"].values() if a["CaseId"] == case["Id"]]
    assert titles[0].startswith("relaydesk · handoff") and titles[1].startswith("relaydesk · #1 Visitor:")


async def test_a_transcript_that_names_no_allowed_value_leaves_the_dropdown_empty(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver, ai_fields=[AREA.model_dump()])
    session_id = await handed_off(relaydesk, ("visitor", "Do you have an office in Lisbon?"))
    assert driver.case(session_id)["UsrProductArea"] is None


def test_offline_rules_pick_only_allowed_values() -> None:
    assert fields.by_rules(AREA, "My parcel tracking shows nothing", "") == "Shipping"
    assert fields.by_rules(AREA, "Hello there", "") is None
    assert fields.allowed(AREA, "  account ACCESS ") == "Account access"
    assert fields.allowed(AREA, "Refunds") is None
    assert fields.allowed(URGENCY, "x" * 900) == "x" * fields.TEXT_LIMIT


async def test_a_model_fills_the_fields_but_never_outside_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    chat = ChatSandbox()
    chat.queue(TextReply('{"UsrProductArea": "Refunds", "UsrUrgency": "Double charge, customer upset"}'))
    monkeypatch.setenv("RELAYDESK_LLM_BASE_URL", "http://model.test/v1")
    monkeypatch.setenv("RELAYDESK_LLM_MODEL", chat.models[0])
    monkeypatch.setenv("RELAYDESK_LLM_API_KEY", sorted(chat.api_keys)[0])
    transcript = [TranscriptMessage(1, "visitor", None, "I was charged twice on my invoice", datetime.now(UTC))]
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(create_chat_app(chat))) as http:
        found = await fields.fill([AREA, URGENCY], transcript, "Invoice charged twice", http)
    # "Refunds" is not an allowed value: the keyword rules decide the dropdown instead.
    assert found == {"UsrProductArea": "Billing", "UsrUrgency": "Double charge, customer upset"}
    assert "allowed values: Billing, Shipping, Account access" in str(chat.completions()[0])


async def test_the_cookie_login_works_and_a_wrong_password_is_named(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    config = driver.sandbox.config
    login = {"auth_mode": "login", "username": config.integration_user.login, "password": "wrong"}
    tested = await relaydesk.client.post("/api/v1/integrations/creatio/test", headers=relaydesk.admin,
                                         json={"settings": {**driver.settings(), **login}})
    assert tested.json()["ok"] is False and tested.json()["setting"] == "password"
    assert "Invalid username or password" in tested.json()["reason"]
    saved = await connect(relaydesk, driver, **{**login, "password": config.integration_password})
    assert saved["status"] == "active"
    session_id = await handed_off(relaydesk, ("visitor", "I need a person"))
    assert driver.handoff(session_id) is not None
    assert driver.sandbox.sessions  # relaydesk signed in with AuthService.svc, not the identity service
    assert not driver.sandbox.tokens


async def test_odata_calls_need_the_bpmcsrf_header_of_their_session(creatio: tuple[Stack, CreatioDriver]) -> None:
    _, driver = creatio
    config = driver.sandbox.config
    async with httpx2.AsyncClient(base_url=driver.url) as http:
        signed_in = await http.post("/ServiceModel/AuthService.svc/Login", json={
            "UserName": config.integration_user.login, "UserPassword": config.integration_password})
        assert signed_in.json()["Code"] == 0
        refused = await http.get("/0/odata/Case", params={"$select": "Id"})
        allowed = await http.get("/0/odata/Case", params={"$select": "Id"},
                                 headers={"BPMCSRF": signed_in.cookies["BPMCSRF"]})
    assert refused.status_code == 401 and refused.json()["error"]["message"]
    assert allowed.status_code == 200 and allowed.json()["value"] == []


@pytest.mark.parametrize(("given", "root", "odata"), [
    ("https://acme.creatio.com/", "https://acme.creatio.com", "https://acme.creatio.com/0/odata"),
    ("https://acme.creatio.com/0/odata", "https://acme.creatio.com", "https://acme.creatio.com/0/odata"),
    ("https://acme.creatio.com/0", "https://acme.creatio.com", "https://acme.creatio.com/0/odata"),
    ("https://crm.acme.com/odata/", "https://crm.acme.com", "https://crm.acme.com/odata"),
])
def test_both_odata_url_forms_are_understood(given: str, root: str, odata: str) -> None:
    settings = CreatioSettings(instance_url=given)
    assert (settings.root, settings.odata) == (root, odata)


async def test_an_instance_on_the_odata_form_connects(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    saved = await connect(relaydesk, driver, instance_url=f"{driver.url}/odata")
    assert saved["status"] == "active"
    assert saved["settings"]["lookup_ids"]["resolved_status"] == "ae7f411e-f46b-1410-009b-0050ba5d6c38"


async def test_an_unknown_lookup_name_is_named_with_the_real_ones(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    tested = await relaydesk.client.post("/api/v1/integrations/creatio/test", headers=relaydesk.admin,
                                         json={"settings": {**driver.settings(), "case_origin": "Web chat"}})
    assert tested.json()["setting"] == "case_origin"
    assert "Chat" in tested.json()["reason"] and "Portal" in tested.json()["reason"]


async def test_a_verified_email_links_the_existing_creatio_contact(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver)
    existing = driver.sandbox.create("Contact", {"Name": "Jane Doe", "Email": "jane@acme.com"},
                                     driver.sandbox.rep())
    before = len(driver.sandbox.tables["Contact"])
    session_id = await handed_off(relaydesk, ("visitor", "Where is my order?"), email="jane@acme.com")
    assert driver.case(session_id)["ContactId"] == existing["Id"]
    assert len(driver.sandbox.tables["Contact"]) == before


async def test_widget_attachments_are_referenced_in_an_activity(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver)
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "My screen shows an error"))
    await relaydesk.hand_off(session_id)
    uploaded = await relaydesk.client.post("/api/widget/v1/uploads", headers=visitor.headers,
                                           files={"file": ("screen.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
                                                           "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    attachment = {k: uploaded.json()[k] for k in ("name", "url", "content_type", "size")}
    await relaydesk.say(visitor, session_id, "visitor", "", attachments=[attachment])
    await relaydesk.settled(session_id)
    case = driver.case(session_id)
    [activity] = [a for a in driver.sandbox.tables["Activity"].values()
                  if a["CaseId"] == case["Id"] and "Attachment" in a["Title"]]
    assert "screen.png" in activity["Notes"] and attachment["url"] in activity["Notes"]


async def test_a_rep_reply_after_resolution_reopens_the_session(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver)
    session_id = await handed_off(relaydesk, ("visitor", "I need a person"))
    driver.close_in_helpdesk(session_id)
    await driver.drain()
    assert (await relaydesk.session(session_id))["session"]["state"] == "resolved"
    driver.rep_reply(session_id, "One more thing: your refund is on its way.")
    await driver.drain()
    session = await relaydesk.session(session_id)
    assert session["session"]["state"] == "human"
    assert (await relaydesk.messages(session_id))[-1]["text"] == "One more thing: your refund is on its way."


async def test_a_call_creatio_cannot_confirm_during_an_outage_is_answered_503(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver)
    session_id = await handed_off(relaydesk, ("visitor", "I need a person"))
    driver.outage(60)
    driver.rep_reply(session_id, "Are you still there?")
    await driver.drain()
    [call] = driver.sandbox.processes.deliveries
    assert call.status == 503
    assert not [m for m in await relaydesk.messages(session_id) if m["author"] == "rep" and m["kind"] == "text"]
