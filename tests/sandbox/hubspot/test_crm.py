"""CRM contacts, tickets and associations, pipelines and owners."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Conversation, Installed, Portal


async def test_contact_create_then_duplicate_gets_documented_409(installed: Installed) -> None:
    created = await installed.client.post(
        "/crm/v3/objects/contacts", json={"properties": {"email": "Sam@Acme.com", "firstname": "Sam"}}
    )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    duplicate = await installed.client.post("/crm/v3/objects/contacts", json={"properties": {"email": "sam@acme.com"}})
    assert duplicate.status_code == 409
    body = duplicate.json()
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {contact_id}"
    match = re.search(r"Existing ID:\s*(\d+)", body["message"])
    assert match is not None and match.group(1) == contact_id


async def test_invalid_email_is_a_validation_error(installed: Installed) -> None:
    response = await installed.client.post("/crm/v3/objects/contacts", json={"properties": {"email": "not-an-email"}})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid:")
    assert "INVALID_EMAIL" in body["message"]


async def test_search_and_read_by_email(installed: Installed) -> None:
    await installed.client.post("/crm/v3/objects/contacts", json={"properties": {"email": "kim@acme.com"}})
    await installed.client.post("/crm/v3/objects/contacts", json={"properties": {"email": "lee@acme.com"}})
    found = await installed.client.post(
        "/crm/v3/objects/contacts/search",
        json={"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "KIM@acme.com"}]}],
              "properties": ["email"], "limit": 1},
    )
    body = found.json()
    assert body["total"] == 1
    assert body["results"][0]["properties"]["email"] == "kim@acme.com"
    direct = await installed.client.get("/crm/v3/objects/contacts/lee@acme.com", params={"idProperty": "email"})
    assert direct.json()["properties"]["email"] == "lee@acme.com"
    missing = await installed.client.get("/crm/v3/objects/contacts/nobody@acme.com", params={"idProperty": "email"})
    assert missing.status_code == 404


async def test_ticket_with_contact_and_thread_associations(conversation: Conversation, installed: Installed) -> None:
    contact = (await installed.client.get("/crm/v3/objects/contacts/jane@acme.com",
                                          params={"idProperty": "email"})).json()
    created = await installed.client.post(
        "/crm/v3/objects/tickets",
        json={
            "properties": {"subject": "Chat hand-off", "content": "AI summary", "hs_pipeline": "0",
                           "hs_pipeline_stage": "1", "hs_ticket_priority": "HIGH"},
            "associations": [
                {"to": {"id": contact["id"]}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                        "associationTypeId": 16}]},
                {"to": {"id": conversation.thread_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                                 "associationTypeId": 32}]},
            ],
        },
    )
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    thread = await installed.client.get(f"/conversations/v3/conversations/threads/{conversation.thread_id}",
                                        params={"association": "TICKET"})
    assert thread.json()["threadAssociations"] == {"associatedTicketId": ticket_id}
    read = await installed.client.get(f"/crm/v3/objects/tickets/{ticket_id}", params={"associations": "contacts"})
    assert read.json()["associations"]["contacts"]["results"][0]["id"] == contact["id"]


async def test_ticket_needs_a_valid_stage(installed: Installed) -> None:
    missing = await installed.client.post("/crm/v3/objects/tickets", json={"properties": {"subject": "x"}})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["code"] == "REQUIRED_PROPERTY"
    wrong = await installed.client.post(
        "/crm/v3/objects/tickets", json={"properties": {"subject": "x", "hs_pipeline_stage": "99"}}
    )
    assert wrong.status_code == 400
    assert "hs_pipeline_stage" in wrong.json()["message"]


async def test_ticket_association_via_v4_put(conversation: Conversation, installed: Installed) -> None:
    ticket = await installed.client.post(
        "/crm/v3/objects/tickets", json={"properties": {"subject": "x", "hs_pipeline_stage": "1"}}
    )
    ticket_id = ticket.json()["id"]
    linked = await installed.client.put(
        f"/crm/v4/objects/ticket/{ticket_id}/associations/conversation/{conversation.thread_id}",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 32}],
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["toObjectId"] == int(conversation.thread_id)
    thread = await installed.client.get(f"/conversations/v3/conversations/threads/{conversation.thread_id}",
                                        params={"association": "TICKET"})
    assert thread.json()["threadAssociations"]["associatedTicketId"] == ticket_id


async def test_help_desk_threads_get_a_ticket_automatically(installed: Installed, portal: Portal) -> None:
    channel_id = await portal.register_channel()
    account_id = await portal.connect_account(channel_id, inbox_id="1002")
    message = await installed.client.post(
        f"/conversations/v3/custom-channels/{channel_id}/messages", json=portal.visitor_message(account_id, "Help")
    )
    thread = await installed.client.get(
        f"/conversations/v3/conversations/threads/{message.json()['conversationsThreadId']}",
        params={"association": "TICKET"},
    )
    assert thread.json()["threadAssociations"]["associatedTicketId"]


async def test_pipelines_and_owners(installed: Installed) -> None:
    pipelines = (await installed.client.get("/crm/v3/pipelines/tickets")).json()["results"]
    assert pipelines[0]["id"] == "0"
    assert [s["id"] for s in pipelines[0]["stages"]] == ["1", "2", "3", "4"]
    assert pipelines[0]["stages"][3]["metadata"]["ticketState"] == "CLOSED"
    owners = (await installed.client.get("/crm/v3/owners", params={"email": "grace@relaydesk-sandbox.test"})).json()
    assert [(o["firstName"], o["userId"]) for o in owners["results"]] == [("Grace", 7002)]
    assert (await installed.client.get("/crm/v3/owners/999")).status_code == 404
