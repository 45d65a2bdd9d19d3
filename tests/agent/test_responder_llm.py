"""With the LLM brain chosen, the model answers, but the handoff rules still decide before it is asked."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fastapi import FastAPI, Request

from relaydesk.agent import responder
from relaydesk.agent.sample import SAMPLE_KB_DIR
from relaydesk.core.models import Workspace
from relaydesk.sandbox.openai_compat import ChatSandbox, TextReply, ToolCall, create_app
from tests.conftest import LiveServer, app_client, make_settings
from tests.helpers import api, create_workspace, new_session, new_visitor


async def test_llm_answers_and_rules_hand_off_without_asking_the_model(tmp_path: Path) -> None:
    chat = ChatSandbox(api_keys=("sk-test",), models=("sandbox-chat",))
    chat.queue(TextReply("Open Settings, then Security, and choose Reset password [1]."))
    async with LiveServer(create_app(chat)) as model_server:
        settings = make_settings(f"sqlite:///{tmp_path}/db.sqlite", tmp_path, llm_base_url=f"{model_server.url}/v1",
                                 llm_model="sandbox-chat", llm_api_key="sk-test")
        async with app_client(settings) as (client, app):
            workspace_id, widget_token, key = await create_workspace(app)
            await responder.ingest_documents(settings, workspace_id, str(SAMPLE_KB_DIR))
            async with app.state.runtime.db.transaction() as tx:
                workspace = await tx.get(Workspace, workspace_id)
                assert workspace is not None
                workspace.settings = {"agent": {"brain": "llm", "instructions": "Be brief."}}
            app.state.runtime.conversations.forget_credentials()
            visitor = await new_visitor(client, widget_token)
            session_id = await new_session(client, visitor)
            url = f"/api/widget/v1/sessions/{session_id}/messages"
            bus = app.state.runtime.bus
            async with bus.subscribe(f"session:{session_id}") as live:
                await client.post(url, json={"text": "How do I reset my password?", "client_id": "1"},
                                  headers=visitor.headers)
                deltas: list[str] = []
                while True:
                    event = await live.get(wait_s=10)
                    assert event is not None, "no AI answer arrived"
                    if event["type"] == "draft":
                        deltas.append(event["delta"])
                    if event["type"] == "message" and event["message"]["author"] == "ai":
                        break
            assert "".join(deltas) == "Open Settings, then Security, and choose Reset password [1]."
            assert len(deltas) > 1, "the answer streamed in pieces"
            deadline = time.monotonic() + 15
            while True:
                messages = (await client.get(url, headers=visitor.headers)).json()["messages"]
                if any(m["author"] == "ai" for m in messages):
                    break
                assert time.monotonic() < deadline, messages
                await asyncio.sleep(0.05)
            assert messages[-1]["text"] == "Open Settings, then Security, and choose Reset password [1]."
            sent = chat.completions()
            assert len(sent) == 1
            system = sent[0]["messages"][0]["content"]
            assert "Be brief." in system and "reset" in system.lower()

            await client.post(url, json={"text": "let me speak to a human agent", "client_id": "2"},
                              headers=visitor.headers)
            while (await client.get(f"/api/v1/sessions/{session_id}", headers=api(key))).json()["session"][
                    "state"] != "handed_off":
                assert time.monotonic() < deadline + 10
                await asyncio.sleep(0.05)
            assert len(chat.completions()) == 1, "the explicit request was decided by the rules, not the model"


async def test_an_action_saved_through_the_api_is_called_with_its_header_decrypted(tmp_path: Path) -> None:
    """The header value is stored encrypted and shown masked; the customer's API still receives the value itself."""
    chat = ChatSandbox(api_keys=("sk-test",), models=("sandbox-chat",))
    chat.queue(ToolCall("order_lookup", {"number": "A17"}))
    shop = FastAPI()
    received: list[str | None] = []

    @shop.get("/orders/{number}")
    async def order(number: str, request: Request) -> dict[str, str]:
        received.append(request.headers.get("authorization"))
        return {"number": number, "status": "shipped"}

    async with LiveServer(create_app(chat)) as model_server, LiveServer(shop) as shop_server:
        settings = make_settings(f"sqlite:///{tmp_path}/db.sqlite", tmp_path, llm_base_url=f"{model_server.url}/v1",
                                 llm_model="sandbox-chat", llm_api_key="sk-test")
        async with app_client(settings) as (client, app):
            _, widget_token, key = await create_workspace(app)
            saved = await client.put("/api/v1/rules", headers=api(key), json={"brain": "llm", "actions": [{
                "name": "order_lookup", "description": "Look up an order by its number",
                "url": f"{shop_server.url}/orders/{{number}}", "headers": {"Authorization": "Bearer shop-credential"},
                "parameters": [{"name": "number", "location": "path", "required": True}]}]})
            assert saved.status_code == 200 and "shop-credential" not in saved.text
            visitor = await new_visitor(client, widget_token)
            session_id = await new_session(client, visitor)
            url = f"/api/widget/v1/sessions/{session_id}/messages"
            await client.post(url, json={"text": "Where is my order A17?"}, headers=visitor.headers)
            deadline = time.monotonic() + 15
            while not any(m["author"] == "ai" for m in (await client.get(url, headers=visitor.headers)).json()[
                    "messages"]):
                assert time.monotonic() < deadline, "no AI answer arrived"
                await asyncio.sleep(0.05)
    assert received == ["Bearer shop-credential"]
