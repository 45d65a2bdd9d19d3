"""Creatio cases beyond the contract: a case on every conversation, visitors who sign in after the case exists,
files stored on the case, and AI-filled dropdowns on lookup columns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from relaydesk.connectors.creatio.client import CreatioClient
from relaydesk.connectors.creatio.settings import AiField, AllowedValue, CreatioSettings
from relaydesk.connectors.outbound import FOLLOW_SETTING
from tests.connectors.contract import CreatioDriver, Stack, stack_with
from tests.connectors.creatio.test_creatio import AREA, connect, handed_off
from tests.helpers import Visitor

PRIORITY = AiField(column="PriorityId", title="Priority", type="dropdown", lookup="CasePriority",
                   instruction="How urgent the request is",
                   allowed_values=[AllowedValue(value="High", keywords=["urgent", "asap", "down"]),
                                   AllowedValue(value="Low", keywords=["whenever", "question"])])
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


@pytest.fixture
async def creatio(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, CreatioDriver]]:
    async with stack_with("creatio", database_url, tmp_path) as pair:
        yield pair


async def chatting(relaydesk: Stack, driver: CreatioDriver, *turns: tuple[str, str], follow: bool = True,
                   **settings: Any) -> tuple[Visitor, str]:
    """Connect (following every conversation unless told otherwise), then a widget chat of these turns."""
    await connect(relaydesk, driver, follow_every_conversation=follow, **settings)
    visitor = await relaydesk.visitor(name="Jane Doe")
    return visitor, await relaydesk.chat(visitor, *turns)


def activities(driver: CreatioDriver, case: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((a for a in driver.sandbox.tables["Activity"].values() if a["CaseId"] == case["Id"]),
                  key=lambda a: str(a["CreatedOn"]))


def test_the_follow_setting_is_the_one_the_producer_reads() -> None:
    assert FOLLOW_SETTING in CreatioSettings.model_fields


async def test_a_case_on_every_conversation_logs_as_it_happens_and_is_completed_at_handoff(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    visitor, session_id = await chatting(relaydesk, driver, ("visitor", "My parcel never arrived"),
                                         ("ai", "Let me check the tracking for you."), ai_fields=[AREA.model_dump()])
    case = driver.case(session_id)
    assert case is not None, "the first message makes the case"
    assert case["Symptoms"] == "My parcel never arrived" and case["Subject"] == "Chat: Jane Doe"
    assert case["OwnerId"] is None and case["GroupId"] is None and case["UsrProductArea"] is None
    first, *logged = activities(driver, case)
    assert first["Title"].startswith("relaydesk · conversation") and f"/app/sessions/{session_id}" in first["Notes"]
    assert [a["Notes"] for a in logged] == ["My parcel never arrived", "Let me check the tracking for you."]

    await relaydesk.say(visitor, session_id, "visitor", "Can a person look at this?")
    await relaydesk.hand_off(session_id, summary="Parcel lost in delivery")
    await relaydesk.settled(session_id)
    assert len(driver.sandbox.tables["Case"]) == 1, "the handoff completes the case, it makes no second one"
    case = driver.case(session_id)
    config = driver.sandbox.config
    assert case["Symptoms"] == "Parcel lost in delivery" and case["Subject"] == "Chat handoff: Jane Doe (billing)"
    assert case["UsrProductArea"] == "Shipping"
    assert case["OwnerId"] == config.reps[0].contact_id and case["GroupId"] == config.groups[0].group_id
    found = driver.handoff(session_id)
    assert found is not None and "Parcel lost in delivery" in found.note
    assert found.transcript == await relaydesk.transcript(session_id)

    driver.rep_reply(session_id, "Hi Jane, I am on it.")
    await driver.drain()
    assert (await relaydesk.messages(session_id))[-1]["text"] == "Hi Jane, I am on it."
    driver.close_in_helpdesk(session_id)
    await driver.drain()
    assert (await relaydesk.session(session_id))["session"]["state"] == "resolved"


async def test_a_conversation_the_ai_resolves_resolves_its_case(creatio: tuple[Stack, CreatioDriver]) -> None:
    relaydesk, driver = creatio
    _, session_id = await chatting(relaydesk, driver, ("visitor", "What are your opening hours?"),
                                   ("ai", "We are open 9 to 5."))
    resolved = await relaydesk.client.post(f"/api/v1/sessions/{session_id}/resolve", headers=relaydesk.admin)
    assert resolved.status_code == 200, resolved.text
    await relaydesk.wait_for(lambda: driver.is_closed(session_id))
    await driver.drain()
    assert (await relaydesk.session(session_id))["session"]["state"] == "resolved"


async def test_without_the_setting_an_ai_conversation_makes_no_case_and_no_job(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    _, session_id = await chatting(relaydesk, driver, ("visitor", "What are your opening hours?"), ("ai", "9 to 5."),
                                   follow=False)
    assert driver.case(session_id) is None
    assert not [d for d in await relaydesk.deliveries(session_id) if d["kind"].startswith("connector.")]


@pytest.mark.parametrize("known_in_creatio", [True, False], ids=["existing-contact", "new-email"])
async def test_a_visitor_who_signs_in_after_the_case_exists_is_linked(
    creatio: tuple[Stack, CreatioDriver], known_in_creatio: bool,
) -> None:
    relaydesk, driver = creatio
    await connect(relaydesk, driver)
    sandbox = driver.sandbox
    existing = sandbox.create("Contact", {"Name": "Jane Doe", "Email": "jane@acme.com"}, sandbox.rep()) \
        if known_in_creatio else None
    visitor = await relaydesk.visitor(name="Jane")
    session_id = await relaydesk.chat(visitor, ("visitor", "Where is my order?"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    anonymous = driver.case(session_id)["ContactId"]
    assert anonymous != (existing or {}).get("Id")

    signed_in = await relaydesk.client.post("/api/v1/contacts/authenticate", headers=relaydesk.admin, json={
        "email": "jane@acme.com", "name": "Jane Doe", "anonymous_token": visitor.token})
    assert signed_in.status_code == 200, signed_in.text
    verified = Visitor(visitor.widget_token, signed_in.json()["token"], signed_in.json()["contact"]["id"])
    await relaydesk.say(verified, session_id, "visitor", "I am signed in now")
    await relaydesk.settled(session_id)

    case = driver.case(session_id)
    if existing is not None:
        assert case["ContactId"] == existing["Id"]
    else:
        assert case["ContactId"] == anonymous
        assert sandbox.tables["Contact"][anonymous]["Email"] == "jane@acme.com"


async def test_a_visitor_file_is_stored_on_the_case_once_even_when_the_upload_is_retried(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    visitor, session_id = await chatting(relaydesk, driver, ("visitor", "My screen shows an error"), follow=False)
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    uploaded = await relaydesk.client.post("/api/widget/v1/uploads", headers=visitor.headers,
                                           files={"file": ("screen.png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    attachment = {k: uploaded.json()[k] for k in ("name", "url", "content_type", "size")}
    driver.sandbox.faults.fail_next(1, 503, path="/0/rest/FileApiService/UploadFile")
    await relaydesk.say(visitor, session_id, "visitor", "", attachments=[attachment])
    await relaydesk.settled(session_id, within_s=15)

    case = driver.case(session_id)
    [file] = [f for f in driver.sandbox.tables["CaseFile"].values() if f["CaseId"] == case["Id"]]
    assert (file["Name"], file["Size"]) == ("screen.png", len(PNG))
    assert bytes(driver.sandbox.file_data[file["Id"]]) == PNG
    [activity] = [a for a in activities(driver, case) if "Attachment" in a["Title"]]
    assert attachment["url"] in activity["Notes"] and "Saved in the case's attachments" in activity["Notes"]


async def test_a_lookup_dropdown_is_written_as_the_id_of_an_allowed_record(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    saved = await connect(relaydesk, driver, ai_fields=[PRIORITY.model_dump()])
    priorities = {r["Name"]: r["Id"] for r in driver.sandbox.tables["CasePriority"].values()}
    assert saved["settings"]["ai_field_ids"]["PriorityId"] == {"High": priorities["High"], "Low": priorities["Low"]}
    urgent = await handed_off(relaydesk, ("visitor", "Our shop is down, this is urgent"))
    unclear = await handed_off(relaydesk, ("visitor", "Hello"))
    assert driver.case(urgent)["PriorityId"] == priorities["High"]
    assert driver.case(unclear)["PriorityId"] is None


@pytest.mark.parametrize(("field", "fragment"), [
    (PRIORITY.model_copy(update={"allowed_values": [AllowedValue(value="Urgent")]}), "no record named Urgent"),
    (PRIORITY.model_copy(update={"lookup": "CaseSeverity"}), "no lookup object CaseSeverity"),
    (AREA.model_copy(update={"column": "UsrNoSuchColumn"}), "UsrNoSuchColumn"),
], ids=["value-not-a-record", "unknown-lookup", "unknown-column"])
async def test_check_refuses_ai_fields_creatio_cannot_take(
    creatio: tuple[Stack, CreatioDriver], field: AiField, fragment: str,
) -> None:
    relaydesk, driver = creatio
    tested = await relaydesk.client.post("/api/v1/integrations/creatio/test", headers=relaydesk.admin,
                                         json={"settings": {**driver.settings(), "ai_fields": [field.model_dump()]}})
    assert tested.json()["ok"] is False and tested.json()["setting"] == "ai_fields"
    assert fragment in tested.json()["reason"]


async def test_a_rep_activity_while_the_ai_answers_takes_the_chat_over_and_back_leaves_the_case_open(
    creatio: tuple[Stack, CreatioDriver],
) -> None:
    relaydesk, driver = creatio
    _, session_id = await chatting(relaydesk, driver, ("visitor", "Is my invoice paid?"))
    driver.rep_reply(session_id, "Hi Jane, Ada here: yes, it is paid.")
    await driver.drain()
    assert (await relaydesk.session(session_id))["session"]["state"] == "human"
    assert (await relaydesk.messages(session_id))[-1]["text"] == "Hi Jane, Ada here: yes, it is paid."

    handed_back = await relaydesk.client.post(f"/api/v1/sessions/{session_id}/hand-back", headers=relaydesk.admin)
    assert handed_back.status_code == 200, handed_back.text
    await relaydesk.settled(session_id)
    case = driver.case(session_id)
    assert any(a["Title"].startswith("relaydesk · handed back") for a in activities(driver, case))
    assert not driver.is_closed(session_id), "the conversation goes on with the AI, so its case stays open"


@pytest.mark.parametrize(("odata", "services"), [
    ("https://acme.creatio.com/0/odata", "https://acme.creatio.com/0/rest"),
    ("https://crm.acme.com/odata", "https://crm.acme.com/rest"),
])
async def test_the_file_api_sits_beside_the_odata_service(odata: str, services: str) -> None:
    settings = CreatioSettings(instance_url=odata)
    async with httpx2.AsyncClient() as http:
        assert CreatioClient(http, settings.root, settings.odata).services == services
