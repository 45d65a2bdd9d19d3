"""The Freshchat sandbox as an ASGI app: the documented API v2 subset, a rep console and fault injection."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

import httpx2
from fastapi import APIRouter, Body, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from relaydesk.sandbox.apps import bearer_authorized, sandbox_lookup, serve_faults, validation_errors
from relaydesk.sandbox.deliveries import delivery_log
from relaydesk.sandbox.faults import ADMIN_PREFIX
from relaydesk.sandbox.freshchat.sandbox import FreshchatError, FreshchatSandbox, error_body
from relaydesk.sandbox.freshchat.state import Conversation, FreshchatConfig, Json

DOCS = "https://developers.freshchat.com/api/"
CONSOLE = f"{ADMIN_PREFIX}/console"


sandbox_of = sandbox_lookup(FreshchatSandbox)
Api = Annotated[FreshchatSandbox, Depends(bearer_authorized(sandbox_of))]
JsonBody = Annotated[dict[str, Any], Body()]
Page = Annotated[int, Query(ge=1)]
PerPage = Annotated[int, Query(ge=1)]
api = APIRouter(prefix="/v2")


def _paged(request: Request, key: str, items: list[Json], page: int, per_page: int) -> Json:
    """One page of a list with Freshchat's `pagination` block and the `links.next_page` href while more follow."""
    per_page = min(per_page, sandbox_of(request).config.max_items_per_page)
    total_pages = max(1, -(-len(items) // per_page))
    body: Json = {key: items[(page - 1) * per_page:page * per_page],
                  "pagination": {"total_items": len(items), "total_pages": total_pages, "current_page": page,
                                 "items_per_page": per_page},
                  "links": {}}
    if page < total_pages:
        root = request.scope.get("root_path", "")
        body["links"]["next_page"] = {"href": f"{root}{request.url.path.removeprefix(root)}"
                                              f"?page={page + 1}&items_per_page={per_page}", "rel": "next_page"}
    return body


def _required(body: Json, *names: str) -> None:
    for name in names:
        if body.get(name) in (None, "", []):
            raise FreshchatError(400, "MISSING_PARAMETER", f"{name} is required")


@api.get("/agents")
async def list_agents(request: Request, sandbox: Api, page: Page = 1, items_per_page: PerPage = 10) -> Json:
    """List all agents (https://developers.freshchat.com/api/#agents)."""
    agents = [sandbox.state.agent_json(a) for a in sandbox.state.agents.values()]
    return _paged(request, "agents", agents, page, items_per_page)


@api.get("/agents/{agent_id}")
async def get_agent(agent_id: str, sandbox: Api) -> Json:
    """Retrieve an agent (https://developers.freshchat.com/api/#view_agent)."""
    return sandbox.state.agent_json(sandbox.agent(agent_id))


@api.get("/groups")
async def list_groups(request: Request, sandbox: Api, page: Page = 1, items_per_page: PerPage = 10) -> Json:
    """List all groups (https://developers.freshchat.com/api/#groups)."""
    groups = [{"id": k, "name": v, "description": ""} for k, v in sandbox.state.groups.items()]
    return _paged(request, "groups", groups, page, items_per_page)


@api.get("/channels")
async def list_channels(request: Request, sandbox: Api, page: Page = 1, items_per_page: PerPage = 10) -> Json:
    """List all channels, called topics in the app (https://developers.freshchat.com/api/#channels-(topics))."""
    channels = [{"id": k, "name": v, "enabled": True, "public": True, "tags": []}
                for k, v in sandbox.state.channels.items()]
    return _paged(request, "channels", channels, page, items_per_page)


@api.get("/users")
async def list_users(request: Request, sandbox: Api, email: str | None = None, reference_id: str | None = None,
                     page: Page = 1, items_per_page: PerPage = 10) -> Json:
    """List users, filtered by `email` or `reference_id` (https://developers.freshchat.com/api/#list_users)."""
    users = [u.to_json() for u in sandbox.state.users.values()
             if (email is None or (u.email or "").lower() == email.lower())
             and (reference_id is None or u.reference_id == reference_id)]
    return _paged(request, "users", users, page, items_per_page)


@api.post("/users", status_code=201)
async def create_user(body: JsonBody, sandbox: Api) -> Json:
    """Create a user (https://developers.freshchat.com/api/#create_user)."""
    properties = body.get("properties") or []
    if not isinstance(properties, list):
        raise FreshchatError(400, "INVALID_VALUE", "properties must be a list of {name, value}")
    return sandbox.create_user(body.get("email"), body.get("first_name"), body.get("last_name"),
                               reference_id=body.get("reference_id"), phone=body.get("phone"),
                               properties=properties).to_json()


@api.get("/users/{user_id}")
async def get_user(user_id: str, sandbox: Api) -> Json:
    """Retrieve a user (https://developers.freshchat.com/api/#view_user)."""
    return sandbox.user(user_id).to_json()


@api.get("/users/{user_id}/conversations")
async def user_conversations(user_id: str, sandbox: Api) -> Json:
    """A user's conversations (https://developers.freshchat.com/api/#retrieve_all_conversation_for_a_user)."""
    sandbox.user(user_id)
    return {"conversations": [{"id": c.id, "status": c.status, "channel_id": c.channel_id,
                               "created_time": c.created_time}
                              for c in sandbox.state.conversations.values() if user_id in c.user_ids]}


@api.post("/conversations", status_code=201)
async def create_conversation(body: JsonBody, sandbox: Api) -> Json:
    """Create a conversation for a user with its first messages (https://developers.freshchat.com/api/#create_conversation)."""
    _required(body, "channel_id", "users")
    users = body["users"]
    if not isinstance(users, list) or not isinstance(users[0], dict) or not users[0].get("id"):
        raise FreshchatError(400, "INVALID_VALUE", "users must be a list of {id}")
    messages = body.get("messages") or []
    conversation = sandbox.open_conversation(str(users[0]["id"]), str(body["channel_id"]), list(messages))
    return {**conversation.to_json(), "messages": [m.to_json() for m in conversation.messages]}


@api.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, sandbox: Api) -> Json:
    """Retrieve a conversation (https://developers.freshchat.com/api/#retrieve_a_conversation)."""
    return sandbox.conversation(conversation_id).to_json()


@api.put("/conversations/{conversation_id}")
async def update_conversation(conversation_id: str, body: JsonBody, sandbox: Api) -> Json:
    """Update status and assignment (https://developers.freshchat.com/api/#update_a_conversation)."""
    conversation = sandbox.conversation(conversation_id)
    return sandbox.update(conversation, body, by=("agent", sandbox.config.owner_agent_id)).to_json()


@api.get("/conversations/{conversation_id}/messages")
async def list_messages(request: Request, conversation_id: str, sandbox: Api, page: Page = 1,
                        items_per_page: PerPage = 10) -> Json:
    """List a conversation's messages, newest first, `link.href` naming the next page
    (https://developers.freshchat.com/api/#list_messages)."""
    messages = [m.to_json() for m in reversed(sandbox.conversation(conversation_id).messages)]
    paged = _paged(request, "messages", messages, page, items_per_page)
    body: Json = {"messages": paged["messages"]}
    if "next_page" in paged["links"]:
        body["link"] = paged["links"]["next_page"]
    return body


@api.post("/conversations/{conversation_id}/messages")
async def send_message(conversation_id: str, body: JsonBody, sandbox: Api) -> Json:
    """Send a message or a private note (https://developers.freshchat.com/api/#send_message_to_conversation)."""
    _required(body, "actor_type", "actor_id", "message_parts")
    return sandbox.post(sandbox.conversation(conversation_id), body).to_json()


console = APIRouter(include_in_schema=False)
ACTIONS = ("reply", "note", "assign_to_me", "unassign", "resolve", "reopen", "customer_reply")


def _conversation_block(sandbox: FreshchatSandbox, conversation: Conversation, here: str) -> str:
    agents = "".join(f"<option value='{a.id}'>{escape(a.first_name)} {escape(a.last_name)}</option>"
                     for a in sandbox.state.agents.values())
    actions = "".join(f"<option>{a}</option>" for a in ACTIONS)
    names = {a.id: f"{a.first_name} {a.last_name}" for a in sandbox.state.agents.values()}
    names.update({u.id: u.first_name or u.email or "Customer" for u in sandbox.state.users.values()})
    lines = "".join(f"<p><i>{m.message_type}</i> <b>{escape(names.get(m.actor_id, m.actor_type))}</b>: "
                    f"{escape(m.text)}</p>" for m in conversation.messages)
    assignee = names.get(conversation.assigned_agent_id or "", "unassigned")
    return (f"<section id='{conversation.id}'><h3>{conversation.id} · {conversation.status} · {escape(assignee)}</h3>"
            f"{lines}<form method='post' action='{here}/{conversation.id}'><select name='agent_id'>{agents}</select>"
            f"<select name='action'>{actions}</select><textarea name='body'></textarea><button>Send</button>"
            "</form></section>")


def _page(sandbox: FreshchatSandbox, request: Request, conversations: list[Conversation]) -> HTMLResponse:
    here = f"{request.scope.get('root_path', '')}{CONSOLE}"
    blocks = "".join(_conversation_block(sandbox, c, here) for c in reversed(conversations))
    return HTMLResponse("<!doctype html><title>Freshchat sandbox</title><h1>Freshchat sandbox inbox</h1>"
                        + (blocks or "<p>No conversations yet.</p>"))


@console.get(CONSOLE)
async def show_console(request: Request) -> HTMLResponse:
    """Every conversation with its messages, and a form per conversation to act as a rep (or as the customer)."""
    sandbox = sandbox_of(request)
    return _page(sandbox, request, list(sandbox.state.conversations.values()))


@console.get("/a/{account}/open/conversation/{conversation_id}")
async def open_conversation(account: str, conversation_id: str, request: Request) -> HTMLResponse:
    """Where a conversation link from relaydesk lands: the console showing that conversation."""
    sandbox = sandbox_of(request)
    return _page(sandbox, request, [sandbox.conversation(conversation_id)])


@console.post(CONSOLE + "/{conversation_id}")
async def console_action(
    conversation_id: str, request: Request, agent_id: Annotated[str, Form()], action: Annotated[str, Form()],
    body: Annotated[str, Form()] = "",
) -> Response:
    """A rep's action (or the customer's reply) from the console."""
    sandbox = sandbox_of(request)
    conversation = sandbox.conversation(conversation_id)
    by = ("agent", agent_id)
    if action in ("reply", "note"):
        sandbox.reply(conversation, agent_id, body, private=action == "note")
    elif action in ("assign_to_me", "unassign"):
        sandbox.assign(conversation, agent_id if action == "assign_to_me" else "", by=by)
    elif action == "resolve":
        sandbox.resolve(conversation, by=by)
    elif action == "reopen":
        sandbox.reopen(conversation, by=by)
    else:
        sandbox.customer_writes(sandbox.user(conversation.user_ids[0]), body, conversation)
    return RedirectResponse(f"{request.scope.get('root_path', '')}{CONSOLE}", status_code=303)


admin = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)


@admin.put("/webhook")
async def set_webhook(request: Request, body: JsonBody) -> Json:
    """Where conversation webhooks go, as set in Admin Settings, Integrations & APIs, Webhooks."""
    sandbox = sandbox_of(request)
    sandbox.webhook_url = str(body.get("url") or "") or None
    return {"url": sandbox.webhook_url, "public_key": sandbox.public_key_pem}


@admin.get("/public-key")
async def public_key(request: Request) -> PlainTextResponse:
    """The RSA public key that verifies the webhooks' X-Freshchat-Signature (paste it into relaydesk)."""
    return PlainTextResponse(sandbox_of(request).public_key_pem)


@admin.get("/webhook-deliveries")
async def webhook_deliveries(request: Request) -> Json:
    """Every webhook sent, with the status of each attempt."""
    return delivery_log(sandbox_of(request).deliveries)


async def _on_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, FreshchatError)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    return JSONResponse(error_body(exc.status, exc.name, exc.message), status_code=exc.status, headers=headers)


def create_app(
    config: FreshchatConfig | None = None,
    *,
    sandbox: FreshchatSandbox | None = None,
    webhook_client: httpx2.AsyncClient | None = None,
) -> FastAPI:
    """The sandbox app around a new (or the given) FreshchatSandbox, reachable as `app.state.sandbox`."""
    account = sandbox or FreshchatSandbox(config, webhook_client)
    app = FastAPI(title="Freshchat sandbox", summary=f"An emulator of Freshchat's documented API v2 ({DOCS})")
    app.state.sandbox = account
    app.include_router(api)
    app.include_router(console)
    app.include_router(admin)
    app.add_exception_handler(FreshchatError, _on_error)
    app.add_exception_handler(RequestValidationError,
                              validation_errors(lambda reason: error_body(400, "INVALID_VALUE", reason)))
    serve_faults(app)
    return app
