"""Custom channels: registration, channel accounts, publishing visitor messages, delivery status, errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from relaydesk.sandbox.hubspot import HubSpotSandbox, verify_signature_v3

if TYPE_CHECKING:
    from conftest import Conversation, Installed, Portal, Receiver


async def test_registering_a_channel_needs_the_developer_api_key(portal: Portal) -> None:
    response = await portal.client.post(
        "/conversations/v3/custom-channels", params={"hapikey": "wrong"}, json={"name": "x", "capabilities": {}}
    )
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


async def test_channel_is_listed_and_readable_on_both_api_versions(installed: Installed, portal: Portal,
                                                                   sandbox: HubSpotSandbox) -> None:
    channel_id = await portal.register_channel()
    key = {"hapikey": sandbox.config.developer_api_key}
    listed = (await portal.client.get("/conversations/v3/custom-channels", params=key)).json()
    assert listed["total"] == 1
    dated = await portal.client.get(f"/conversations/custom-channels/2026-03/{channel_id}", params=key)
    assert dated.json()["webhookUrl"] == portal.channel_webhook


async def test_connecting_an_account_notifies_the_channel_webhook(
    installed: Installed, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    channel_id = await portal.register_channel()
    account_id = await portal.connect_account(channel_id)
    await sandbox.webhooks.drain()
    [event] = receiver.to(portal.channel_webhook)
    payload = json.loads(event.body)
    assert payload["type"] == "CHANNEL_ACCOUNT_CREATED"
    assert payload["channelAccount"]["id"] == account_id
    assert payload["channelAccount"]["inboxId"] == "1001"
    assert verify_signature_v3(sandbox.config.client_secret, "POST", portal.channel_webhook, event.body,
                               event.headers["x-hubspot-request-timestamp"], event.headers["x-hubspot-signature-v3"])


async def test_incoming_messages_share_a_thread_per_integration_thread_id(
    conversation: Conversation, portal: Portal
) -> None:
    first = conversation.first_message
    assert first["direction"] == "INCOMING"
    assert first["channelId"] == conversation.channel_id
    assert first["senders"][0]["actorId"].startswith("V-")
    url = f"/conversations/v3/custom-channels/{conversation.channel_id}/messages"
    second = (await portal.client.post(url, json=portal.visitor_message(conversation.account_id, "Still there?")))
    assert second.json()["conversationsThreadId"] == conversation.thread_id
    other = await portal.client.post(
        url, json=portal.visitor_message(conversation.account_id, "New topic", thread_key="session-2")
    )
    assert other.json()["conversationsThreadId"] != conversation.thread_id


async def test_idempotency_id_returns_the_first_message(conversation: Conversation, portal: Portal) -> None:
    url = f"/conversations/v3/custom-channels/{conversation.channel_id}/messages"
    egg = portal.visitor_message(conversation.account_id, "Once", integrationIdempotencyId="msg-7")
    first = (await portal.client.post(url, json=egg)).json()
    second = (await portal.client.post(url, json=egg)).json()
    assert first["id"] == second["id"]
    thread = await portal.client.get(f"/conversations/v3/conversations/threads/{conversation.thread_id}/messages")
    assert [m["text"] for m in thread.json()["results"]] == ["Hi, my invoice", "Once"]


async def test_visitor_email_links_an_existing_contact(installed: Installed, portal: Portal) -> None:
    created = await portal.client.post("/crm/v3/objects/contacts", json={"properties": {"email": "jane@acme.com"}})
    channel_id = await portal.register_channel()
    account_id = await portal.connect_account(channel_id)
    message = await portal.client.post(
        f"/conversations/v3/custom-channels/{channel_id}/messages", json=portal.visitor_message(account_id, "Hi")
    )
    thread_id = message.json()["conversationsThreadId"]
    thread = await portal.client.get(f"/conversations/v3/conversations/threads/{thread_id}")
    assert thread.json()["associatedContactId"] == created.json()["id"]


async def test_delivery_status_updates_are_recorded(conversation: Conversation, portal: Portal,
                                                    sandbox: HubSpotSandbox) -> None:
    reply = sandbox.send_rep_message(conversation.thread_id, "Hello Jane", actor_id=sandbox.default_rep_actor)
    url = f"/conversations/v3/custom-channels/{conversation.channel_id}/messages/{reply['id']}"
    sent = await portal.client.patch(url, json={"statusType": "SENT"})
    assert sent.json()["status"] == {"statusType": "SENT"}
    failed = await portal.client.patch(url, json={"statusType": "FAILED", "errorMessage": "widget offline"})
    assert failed.json()["status"]["failureDetails"]["errorMessage"] == "widget offline"
    assert (await portal.client.get(url)).json()["status"]["statusType"] == "FAILED"
    bad = await portal.client.patch(url, json={"statusType": "DELIVERED"})
    assert bad.status_code == 400
    assert bad.json()["category"] == "VALIDATION_ERROR"


async def test_publishing_needs_the_custom_channels_write_scope(portal: Portal, sandbox: HubSpotSandbox) -> None:
    channel_id = await portal.register_channel()
    tokens = await portal.install(scope="oauth conversations.read")
    response = await portal.client.post(
        f"/conversations/v3/custom-channels/{channel_id}/messages",
        json=portal.visitor_message("1", "Hi"),
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["conversations.custom_channels.write"]


async def test_private_app_tokens_cannot_use_custom_channels(portal: Portal) -> None:
    channel_id = await portal.register_channel()
    response = await portal.client.get(
        f"/conversations/v3/custom-channels/{channel_id}/channel-accounts",
        headers={"Authorization": "Bearer pat-na1-contacts-only"},
    )
    assert response.status_code == 403
    assert response.json()["category"] == "MISSING_SCOPES"


async def test_unknown_channel_and_invalid_body(installed: Installed, portal: Portal) -> None:
    missing = await portal.client.post("/conversations/v3/custom-channels/999/messages",
                                       json=portal.visitor_message("1", "Hi"))
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"
    channel_id = await portal.register_channel()
    invalid = await portal.client.post(f"/conversations/v3/custom-channels/{channel_id}/messages",
                                       json={"channelAccountId": "1", "messageDirection": "INCOMING"})
    assert invalid.status_code == 400
    body = invalid.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"]
