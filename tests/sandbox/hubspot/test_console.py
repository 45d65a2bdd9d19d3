"""The rep console: pages render escaped, and rep actions send the webhooks HubSpot would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TYPE_CHECKING

from relaydesk.sandbox.hubspot import HubSpotSandbox

if TYPE_CHECKING:
    from conftest import Conversation, Portal, Receiver


async def test_console_lists_threads_and_escapes_visitor_text(conversation: Conversation, portal: Portal) -> None:
    await portal.client.post(
        f"/conversations/v3/custom-channels/{conversation.channel_id}/messages",
        json=portal.visitor_message(conversation.account_id, "<script>alert(1)</script>"),
    )
    index = await portal.client.get("/_sandbox/console")
    assert index.status_code == 200
    assert f"/_sandbox/console/threads/{conversation.thread_id}" in index.text
    page = await portal.client.get(f"/_sandbox/console/threads/{conversation.thread_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text


async def test_console_reply_sends_a_signed_outgoing_message_webhook(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    response = await portal.client.post(
        f"/_sandbox/console/threads/{conversation.thread_id}/reply",
        data={"text": "Hello Jane, refund is on its way", "actor_id": "A-7002"},
    )
    assert response.status_code == 303
    await sandbox.webhooks.drain()
    delivery = receiver.to(portal.channel_webhook)[-1]
    payload = json.loads(delivery.body)
    assert payload["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert payload["channelId"] == conversation.channel_id
    assert payload["channelIntegrationThreadIds"] == ["session-1"]
    message = payload["message"]
    assert (message["direction"], message["text"]) == ("OUTGOING", "Hello Jane, refund is on its way")
    assert message["conversationsThreadId"] == conversation.thread_id
    assert message["senders"][0] == {"actorId": "A-7002", "name": "Grace Hopper",
                                     "deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID",
                                                            "value": "relaydesk-widget"}}
    assert message["recipients"][0]["deliveryIdentifier"] == {"type": "HS_EMAIL_ADDRESS", "value": "jane@acme.com"}
    # The receiver recomputes the v3 signature from the documented recipe, over the URL it was called on
    # (HubSpot decodes %3A before signing).
    timestamp = delivery.headers["x-hubspot-request-timestamp"]
    signed_uri = portal.channel_webhook.replace("%3A", ":")
    source = b"POST" + signed_uri.encode() + delivery.body + timestamp.encode()
    expected = base64.b64encode(hmac.new(sandbox.config.client_secret.encode(), source, hashlib.sha256).digest())
    assert delivery.headers["x-hubspot-signature-v3"] == expected.decode()


async def test_console_close_assign_and_note_reach_subscribers(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    await portal.subscribe("conversation.propertyChange", "status")
    base = f"/_sandbox/console/threads/{conversation.thread_id}"
    await portal.client.post(f"{base}/assign", data={"actor_id": "A-7001"})
    await portal.client.post(f"{base}/comment", data={"text": "Customer is VIP"})
    await portal.client.post(f"{base}/status", data={"status": "CLOSED"})
    await sandbox.webhooks.drain()
    events = [e for r in receiver.to(portal.app_webhook) for e in json.loads(r.body)]
    assert [(e["propertyName"], e["propertyValue"], e["changeSource"]) for e in events] == [
        ("status", "CLOSED", "CRM_UI")
    ]
    thread = sandbox.thread(conversation.thread_id)
    assert (thread.status, thread.assigned_to) == ("CLOSED", "A-7001")
    assert thread.messages[-1]["type"] == "COMMENT"
    page = await portal.client.get(base)
    assert "Reopen" in page.text and "Customer is VIP" in page.text


async def test_rep_actions_are_callable_from_python(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    sandbox.send_rep_message(conversation.thread_id, "From a test", actor_id=sandbox.default_rep_actor)
    sandbox.set_status(conversation.thread_id, "CLOSED", source="CRM_UI")
    await sandbox.webhooks.drain()
    texts = [json.loads(r.body).get("message", {}).get("text") for r in receiver.to(portal.channel_webhook)]
    assert "From a test" in texts
    deliveries = (await portal.client.get("/_sandbox/webhook-deliveries")).json()["results"]
    assert {d["state"] for d in deliveries} == {"delivered"}
