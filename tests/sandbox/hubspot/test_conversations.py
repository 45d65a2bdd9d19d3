"""Conversations API: inboxes, threads, comments, rep messages, status, assignment, and app webhooks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from relaydesk.sandbox.hubspot import HubSpotSandbox, signature_v1, verify_signature_v3

if TYPE_CHECKING:
    from conftest import Conversation, Installed, Portal, Receiver


async def test_inboxes_page_with_after_cursor(installed: Installed) -> None:
    first = (await installed.client.get("/conversations/v3/conversations/inboxes", params={"limit": 1})).json()
    assert [i["type"] for i in first["results"]] == ["INBOX"]
    after = first["paging"]["next"]["after"]
    second = (await installed.client.get("/conversations/v3/conversations/inboxes",
                                         params={"limit": 1, "after": after})).json()
    assert [i["type"] for i in second["results"]] == ["HELP_DESK"]
    assert "paging" not in second


async def test_comment_is_an_internal_note_on_the_thread(conversation: Conversation, portal: Portal) -> None:
    url = f"/conversations/v3/conversations/threads/{conversation.thread_id}/messages"
    created = await portal.client.post(url, json={"type": "COMMENT", "text": "AI summary: invoice dispute",
                                                  "attachments": []})
    assert created.status_code == 201
    comment = created.json()
    assert comment["type"] == "COMMENT"
    assert comment["conversationsThreadId"] == conversation.thread_id
    listed = (await portal.client.get(url)).json()["results"]
    assert [m["type"] for m in listed] == ["MESSAGE", "COMMENT"]
    one = await portal.client.get(f"{url}/{comment['id']}")
    assert one.json()["text"] == "AI summary: invoice dispute"


async def test_closing_a_thread_emits_a_signed_property_change(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    await portal.subscribe("conversation.propertyChange", "status")
    url = f"/conversations/v3/conversations/threads/{conversation.thread_id}"
    closed = await portal.client.patch(url, json={"status": "CLOSED"})
    assert closed.json()["status"] == "CLOSED"
    assert "closedAt" in closed.json()
    await sandbox.webhooks.drain()
    [delivery] = receiver.to(portal.app_webhook)
    [event] = json.loads(delivery.body)
    assert event["subscriptionType"] == "conversation.propertyChange"
    assert event["objectId"] == int(conversation.thread_id)
    assert (event["propertyName"], event["propertyValue"]) == ("status", "CLOSED")
    assert event["portalId"] == sandbox.config.portal_id
    assert event["attemptNumber"] == 0
    assert delivery.headers["x-hubspot-signature-version"] == "v1"
    assert delivery.headers["x-hubspot-signature"] == signature_v1(sandbox.config.client_secret, delivery.body)
    assert verify_signature_v3(sandbox.config.client_secret, "POST", portal.app_webhook, delivery.body,
                               delivery.headers["x-hubspot-request-timestamp"],
                               delivery.headers["x-hubspot-signature-v3"])
    reopened = await portal.client.patch(url, json={"status": "OPEN"})
    assert reopened.json()["status"] == "OPEN"


async def test_new_messages_are_announced_to_subscribers(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    await portal.subscribe("conversation.newMessage")
    await portal.client.post(f"/conversations/v3/conversations/threads/{conversation.thread_id}/messages",
                             json={"type": "COMMENT", "text": "note", "attachments": []})
    await sandbox.webhooks.drain()
    [event] = json.loads(receiver.to(portal.app_webhook)[0].body)
    assert event["subscriptionType"] == "conversation.newMessage"
    assert event["messageType"] == "COMMENT"
    assert event["changeFlag"] == "NEW_MESSAGE"


async def test_assigning_and_unassigning_a_thread(conversation: Conversation, portal: Portal,
                                                  sandbox: HubSpotSandbox) -> None:
    url = f"/conversations/conversations/v3/threads/{conversation.thread_id}/assignee"
    actor = f"A-{sandbox.config.reps[1].user_id}"
    assigned = await portal.client.put(url, json={"actorId": actor})
    assert assigned.json()["assignedTo"] == actor
    unknown = await portal.client.put(url, json={"actorId": "A-1"})
    assert unknown.status_code == 400
    assert (await portal.client.delete(url)).status_code == 204
    thread = await portal.client.get(f"/conversations/v3/conversations/threads/{conversation.thread_id}")
    assert "assignedTo" not in thread.json()


async def test_rep_message_via_api_reaches_the_channel(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    response = await portal.client.post(
        f"/conversations/v3/conversations/threads/{conversation.thread_id}/messages",
        json={"type": "MESSAGE", "text": "On it", "senderActorId": sandbox.default_rep_actor,
              "channelId": conversation.channel_id, "channelAccountId": conversation.account_id,
              "recipients": [{"actorId": conversation.first_message["createdBy"]}], "attachments": []},
    )
    assert response.status_code == 201, response.text
    await sandbox.webhooks.drain()
    outgoing = [json.loads(r.body) for r in receiver.to(portal.channel_webhook)]
    assert outgoing[-1]["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert outgoing[-1]["message"]["text"] == "On it"
    incomplete = await portal.client.post(
        f"/conversations/v3/conversations/threads/{conversation.thread_id}/messages",
        json={"type": "MESSAGE", "text": "x", "attachments": []},
    )
    assert incomplete.status_code == 400


async def test_threads_filter_by_status_and_404_for_unknown(conversation: Conversation, portal: Portal) -> None:
    listed = await portal.client.get("/conversations/v3/conversations/threads",
                                     params={"inboxId": "1001", "threadStatus": "OPEN"})
    assert [t["id"] for t in listed.json()["results"]] == [conversation.thread_id]
    closed = await portal.client.get("/conversations/v3/conversations/threads", params={"threadStatus": "CLOSED"})
    assert closed.json()["results"] == []
    missing = await portal.client.get("/conversations/v3/conversations/threads/1")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"


async def test_archive_and_restore_a_thread(conversation: Conversation, portal: Portal) -> None:
    url = f"/conversations/v3/conversations/threads/{conversation.thread_id}"
    assert (await portal.client.delete(url)).status_code == 204
    assert (await portal.client.get(url)).status_code == 404
    restored = await portal.client.patch(url, params={"archived": "true"}, json={"archived": False})
    assert restored.json()["archived"] is False


async def test_reading_conversations_needs_conversations_read(portal: Portal) -> None:
    response = await portal.client.get("/conversations/v3/conversations/inboxes",
                                       headers={"Authorization": "Bearer pat-na1-contacts-only"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["context"]["requiredGranularScopes"] == ["conversations.read"]


async def test_actors_resolve_reps_and_visitors(conversation: Conversation, portal: Portal,
                                                sandbox: HubSpotSandbox) -> None:
    rep = await portal.client.get(f"/conversations/v3/conversations/actors/{sandbox.default_rep_actor}")
    assert rep.json()["name"] == "Ada Lovelace"
    visitor_actor = conversation.first_message["createdBy"]
    visitor = await portal.client.get(f"/conversations/v3/conversations/actors/{visitor_actor}")
    assert visitor.json()["name"] == "Jane Doe"
