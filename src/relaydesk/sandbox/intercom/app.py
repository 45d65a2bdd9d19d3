"""The Intercom sandbox as an ASGI app: the documented REST subset (API 2.11), a rep console and fault injection."""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from collections.abc import Callable
from html import escape, unescape
from typing import Annotated, Any

import httpx2
from fastapi import APIRouter, Body, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from relaydesk.sandbox.apps import bearer_authorized, sandbox_lookup, serve_faults, validation_errors
from relaydesk.sandbox.deliveries import delivery_log
from relaydesk.sandbox.faults import ADMIN_PREFIX
from relaydesk.sandbox.intercom.sandbox import IntercomError, IntercomSandbox, error_body
from relaydesk.sandbox.intercom.state import Conversation, IntercomConfig, Json

DOCS = "https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io"
CONSOLE = f"{ADMIN_PREFIX}/console"


sandbox_of = sandbox_lookup(IntercomSandbox)
Api = Annotated[IntercomSandbox, Depends(bearer_authorized(sandbox_of))]
JsonBody = Annotated[dict[str, Any], Body()]
api = APIRouter()


def _required(body: Json, *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise IntercomError(400, "parameter_not_found", f"{name} is required")


@api.get("/me")
async def me(sandbox: Api) -> Json:
    """Identify an admin (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/admins/identifyadmin)."""
    config = sandbox.config
    owner = sandbox.state.admins[config.owner_admin_id]
    return {**sandbox.state.admin_json(owner), "app": {"type": "app", "id_code": config.app_id,
                                                        "name": config.app_name, "region": config.region,
                                                        "timezone": "UTC", "identity_verification": False}}


@api.get("/admins")
async def list_admins(sandbox: Api) -> Json:
    """List all admins (…/admins/listadmins)."""
    return {"type": "admin.list", "admins": [sandbox.state.admin_json(a) for a in sandbox.state.admins.values()]}


@api.get("/admins/{admin_id}")
async def get_admin(admin_id: str, sandbox: Api) -> Json:
    """Retrieve an admin (…/admins/retrieveadmin)."""
    return sandbox.state.admin_json(sandbox.state.admins[sandbox.admin_id(admin_id)])


@api.get("/teams")
async def list_teams(sandbox: Api) -> Json:
    """List all teams (…/teams/listteams)."""
    return {"type": "team.list", "teams": [
        {"type": "team", "id": t.id, "name": t.name, "admin_ids": [int(a) for a in t.admin_ids]}
        for t in sandbox.state.teams.values()]}


@api.get("/tags")
async def list_tags(sandbox: Api) -> Json:
    """List all tags (…/tags/findalltags)."""
    return {"type": "list", "data": [{"type": "tag", "id": k, "name": v} for k, v in sandbox.state.tags.items()]}


@api.post("/tags")
async def create_tag(body: JsonBody, sandbox: Api) -> Json:
    """Create or update a tag by name (…/tags/createtag)."""
    _required(body, "name")
    return sandbox.find_or_create_tag(str(body["name"]))


@api.post("/contacts")
async def create_contact(body: JsonBody, sandbox: Api) -> Json:
    """Create a contact (…/contacts/createcontact); a taken email answers 409 naming the existing id."""
    if not any(body.get(k) for k in ("email", "external_id", "role")):
        raise IntercomError(400, "parameter_invalid", "one of email, external_id or role is required")
    role = str(body.get("role") or "user")
    if role not in ("user", "lead"):
        raise IntercomError(400, "parameter_invalid", "role must be user or lead")
    contact = sandbox.create_contact(role, body.get("email"), body.get("name"), body.get("external_id"),
                                     body.get("custom_attributes") or {})
    return contact.to_json()


@api.get("/contacts/{contact_id}")
async def get_contact(contact_id: str, sandbox: Api) -> Json:
    """Get a contact (…/contacts/showcontact)."""
    return sandbox.contact(contact_id).to_json()


@api.post("/contacts/search")
async def search_contacts(body: JsonBody, sandbox: Api) -> Json:
    """Search contacts (…/contacts/searchcontacts): the single `field = value` query on email or external_id."""
    query = body.get("query") or {}
    if query.get("operator") != "=" or query.get("field") not in ("email", "external_id"):
        raise IntercomError(400, "parameter_invalid", "the sandbox searches contacts by email or external_id with =")
    field, value = str(query["field"]), query.get("value")
    found = [c.to_json() for c in sandbox.state.contacts.values() if getattr(c, field) == value]
    return {"type": "list", "data": found, "total_count": len(found),
            "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1}}


@api.get("/contacts/{contact_id}/companies")
async def contact_companies(contact_id: str, sandbox: Api) -> Json:
    """List attached companies for contact (…/contacts/listcompaniesforacontact)."""
    companies = [sandbox.state.companies[c].to_json() for c in sandbox.contact(contact_id).company_ids]
    return {"type": "list", "companies": companies, "total_count": len(companies),
            "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1}}


@api.get("/companies/{company_id}")
async def get_company(company_id: str, sandbox: Api) -> Json:
    """Retrieve a company by id (…/companies/retrieveacompanybyid)."""
    company = sandbox.state.companies.get(company_id)
    if company is None:
        raise IntercomError(404, "company_not_found", "Company Not Found")
    return company.to_json()


@api.post("/conversations")
async def create_conversation(body: JsonBody, sandbox: Api) -> Json:
    """Create a conversation on behalf of a contact (…/conversations/createconversation)."""
    _required(body, "from", "body")
    sender = body["from"] or {}
    if sender.get("type") not in ("user", "lead", "contact"):
        raise IntercomError(400, "parameter_invalid", "from.type must be user, lead or contact")
    if str(sender.get("id")) not in sandbox.state.contacts:
        raise IntercomError(404, "not_found", "User Not Found")
    conversation = sandbox.start_conversation(str(sender["id"]), str(body["body"]))
    return {"type": "user_message", "id": conversation.source["id"], "created_at": conversation.created_at,
            "body": body["body"], "message_type": "inapp", "conversation_id": conversation.id}


@api.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, sandbox: Api) -> Json:
    """Retrieve a conversation with all its parts (…/conversations/retrieveconversation)."""
    return sandbox.show(sandbox.conversation(conversation_id))


@api.post("/conversations/{conversation_id}/reply")
async def reply(conversation_id: str, body: JsonBody, sandbox: Api) -> Json:
    """Reply to a conversation as an admin (comment or note) or as the contact (…/conversations/replyconversation)."""
    conversation = sandbox.conversation(conversation_id)
    _required(body, "message_type", "type", "body")
    kind, message_type = body["type"], body["message_type"]
    files = _uploads(body.get("attachment_urls"))
    if kind == "admin" and message_type in ("comment", "note"):
        _required(body, "admin_id")
        sandbox.admin_reply(conversation, str(body["admin_id"]), str(body["body"]), note=message_type == "note",
                            attachments=files)
    elif kind == "user" and message_type == "comment":
        _required(body, "intercom_user_id")
        sandbox.user_reply(conversation, str(body["intercom_user_id"]), str(body["body"]), attachments=files)
    else:
        raise IntercomError(400, "parameter_invalid", f"cannot reply with type {kind} and message_type {message_type}")
    return sandbox.show(conversation)


@api.post("/conversations/{conversation_id}/parts")
async def manage(conversation_id: str, body: JsonBody, sandbox: Api) -> Json:
    """Manage a conversation: assign, close, open (…/conversations/manageconversation)."""
    conversation = sandbox.conversation(conversation_id)
    _required(body, "message_type", "admin_id")
    message_type = body["message_type"]
    if message_type == "assignment":
        _required(body, "assignee_id", "type")
        sandbox.assign(conversation, str(body["admin_id"]), str(body["type"]), str(body["assignee_id"]))
    elif message_type in ("close", "open"):
        sandbox.set_state(conversation, str(body["admin_id"]), "closed" if message_type == "close" else "open",
                          body.get("body"))
    else:
        raise IntercomError(400, "parameter_invalid", f"message_type {message_type} is not supported")
    return sandbox.show(conversation)


@api.post("/conversations/{conversation_id}/tags")
async def tag_conversation(conversation_id: str, body: JsonBody, sandbox: Api) -> Json:
    """Add a tag to a conversation (…/tags/attachtagtoconversation)."""
    _required(body, "id", "admin_id")
    return sandbox.tag(sandbox.conversation(conversation_id), str(body["id"]), str(body["admin_id"]))


@api.post("/conversations/search")
async def search_conversations(body: JsonBody, sandbox: Api) -> Json:
    """Search conversations (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/conversations/searchconversations):
    a `{field, operator, value}` query on `id`, `state`, `created_at`, `updated_at`, `contact_ids` or `source.body`,
    or an AND/OR group of them, with `=`, `!=`, `>`, `<` and `~` (contains); `source.body` is matched word by word,
    not as a whole, as the page says; cursor pagination with `per_page` (at most 150, default 20) and
    `starting_after`; results oldest first, without their parts
    (https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/pagination)."""
    query = body.get("query")
    if not isinstance(query, dict):
        raise IntercomError(400, "parameter_invalid", "query is required")
    pagination = body.get("pagination") or {}
    per_page = int(pagination.get("per_page") or 20)
    if not 1 <= per_page <= 150:
        raise IntercomError(400, "parameter_invalid", "per_page must be between 1 and 150")
    found = sorted((c for c in sandbox.state.conversations.values() if _matches(c, query)),
                   key=lambda c: (c.updated_at, c.id))
    start = _cursor_start(pagination.get("starting_after"), [c.id for c in found])
    page = found[start:start + per_page]
    pages: Json = {"type": "pages", "page": start // per_page + 1, "per_page": per_page,
                   "total_pages": max(1, -(-len(found) // per_page))}
    if start + per_page < len(found):
        pages["next"] = {"page": pages["page"] + 1, "starting_after": _cursor(page[-1].id)}
    return {"type": "conversation.list", "conversations": [c.to_json(sandbox.state.tags, listed=True) for c in page],
            "total_count": len(found), "pages": pages}


@api.get("/articles")
async def list_articles(
    sandbox: Api, page: Annotated[int, Query(ge=1)] = 1, per_page: Annotated[int, Query(ge=1, le=250)] = 25,
) -> Json:
    """List all help-center articles (…/articles/listarticles): most recently updated first, `page` and `per_page`
    (default 25, at most 250)."""
    articles = sorted(sandbox.state.articles, key=lambda a: (-a["updated_at"], a["id"]))
    shown = articles[(page - 1) * per_page:page * per_page]
    pages: Json = {"type": "pages", "page": page, "per_page": per_page,
                   "total_pages": max(1, -(-len(articles) // per_page))}
    if page < pages["total_pages"]:
        pages["next"] = f"{sandbox.config.public_base_url}/articles?page={page + 1}&per_page={per_page}"
    return {"type": "list", "data": shown, "total_count": len(articles), "pages": pages}


SEARCHABLE = {"id": lambda c: c.id, "state": lambda c: c.state, "created_at": lambda c: c.created_at,
              "updated_at": lambda c: c.updated_at}
# Fields of many values: a condition holds when one of them meets it (a contact of the conversation; a word of the
# first message's text).
SEARCHABLE_EACH: dict[str, Callable[[Conversation], list[str]]] = {
    "contact_ids": lambda c: [c.contact_id], "source.body": lambda c: plain_words(str(c.source.get("body") or ""))}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
    "~": lambda a, b: isinstance(a, str) and b in a}


def _matches(conversation: Conversation, query: Json) -> bool:
    """Whether a conversation satisfies a search query (a single condition or an AND/OR group)."""
    operator = query.get("operator")
    if operator in ("AND", "OR"):
        parts = query.get("value")
        if not isinstance(parts, list) or not parts:
            raise IntercomError(400, "parameter_invalid", f"{operator} needs a list of conditions")
        results = [_matches(conversation, part) for part in parts]
        return all(results) if operator == "AND" else any(results)
    name, compare = str(query.get("field")), COMPARE.get(str(operator))
    if name in SEARCHABLE_EACH and compare is not None:
        return any(compare(value, str(query.get("value"))) for value in SEARCHABLE_EACH[name](conversation))
    field = SEARCHABLE.get(name)
    if field is None or compare is None:
        fields = ", ".join([*SEARCHABLE, *SEARCHABLE_EACH])
        raise IntercomError(400, "parameter_invalid", f"the sandbox searches {fields} with {', '.join(COMPARE)}")
    value, expected = field(conversation), query.get("value")
    try:
        return bool(compare(value, type(value)(expected)))
    except (TypeError, ValueError) as exc:
        raise IntercomError(400, "parameter_invalid", f"{query.get('field')}: bad value {expected!r}") from exc


def plain_words(html: str) -> list[str]:
    """The words of an HTML body, as the search matches `source.body`."""
    return unescape(re.sub(r"<[^>]+>", " ", html)).split()


def _cursor(conversation_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([conversation_id]).encode()).decode()


def _cursor_start(cursor: Any, ids: list[str]) -> int:
    """Where the page after `starting_after` begins."""
    if not cursor:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))[0]
        return ids.index(after) + 1
    except (ValueError, IndexError, TypeError) as exc:
        raise IntercomError(400, "parameter_invalid", "starting_after is not a cursor of this search") from exc


def _uploads(urls: Any) -> list[Json]:
    """`attachment_urls` as the parts' attachments: at most 10 URLs."""
    if urls is None:
        return []
    if not isinstance(urls, list) or len(urls) > 10 or not all(isinstance(u, str) and u for u in urls):
        raise IntercomError(400, "parameter_invalid", "attachment_urls must be a list of at most 10 URLs")
    return [{"type": "upload", "name": u.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "attachment",
             "url": u, "content_type": mimetypes.guess_type(u.split("?", 1)[0])[0], "filesize": None}
            for u in urls]


console = APIRouter(prefix=CONSOLE, include_in_schema=False)


@console.get("")
async def show_console(request: Request) -> HTMLResponse:
    """Every conversation with its parts, and a form per conversation to reply, note, assign or close."""
    sandbox = sandbox_of(request)
    here = f"{request.scope.get('root_path', '')}{CONSOLE}"
    admins = "".join(f"<option value='{a.id}'>{escape(a.name)}</option>" for a in sandbox.state.admins.values())
    targets = admins.replace("value='", "value='admin:") + "".join(
        f"<option value='team:{t.id}'>team {escape(t.name)}</option>" for t in sandbox.state.teams.values())
    blocks = []
    for conversation in reversed(sandbox.state.conversations.values()):
        lines = [f"<p><b>{escape(str(conversation.source['author'].get('name') or 'Visitor'))}</b>: "
                 f"{escape(str(conversation.source['body']))}</p>"]
        lines += [f"<p><i>{p.part_type}</i> <b>{escape(str(p.author.get('name')))}</b>: {escape(p.body or '')}</p>"
                  for p in conversation.parts]
        blocks.append(
            f"<section><h3>#{conversation.id} · {conversation.state} · admin {conversation.admin_assignee_id} · "
            f"team {conversation.team_assignee_id}</h3>{''.join(lines)}"
            f"<form method='post' action='{here}/{conversation.id}'><select name='admin_id'>{admins}</select>"
            "<select name='action'><option>reply</option><option>note</option><option>assign_to_me</option>"
            "<option>assign</option><option>close</option><option>open</option></select>"
            f"<label>assign to <select name='assignee'>{targets}</select></label><textarea name='body'></textarea>"
            "<button>Send</button></form></section>"
        )
    page = ("<!doctype html><title>Intercom sandbox</title><h1>Intercom sandbox inbox</h1>"
            + ("".join(blocks) or "<p>No conversations yet.</p>"))
    return HTMLResponse(page)


@console.post("/{conversation_id}")
async def console_action(
    conversation_id: str, request: Request, admin_id: Annotated[str, Form()], action: Annotated[str, Form()],
    body: Annotated[str, Form()] = "", assignee: Annotated[str, Form()] = "",
) -> Response:
    """A rep's action from the console; `assign` gives the conversation to `assignee` (`admin:<id>`, `team:<id>`)."""
    sandbox = sandbox_of(request)
    conversation = sandbox.conversation(conversation_id)
    if action in ("reply", "note"):
        sandbox.admin_reply(conversation, admin_id, body, note=action == "note")
    elif action == "assign_to_me":
        sandbox.assign(conversation, admin_id, "admin", admin_id)
    elif action == "assign":
        kind, _, target = assignee.partition(":")
        sandbox.assign(conversation, admin_id, "team" if kind == "team" else "admin", target)
    else:
        sandbox.set_state(conversation, admin_id, "closed" if action == "close" else "open")
    return RedirectResponse(f"{request.scope.get('root_path', '')}{CONSOLE}", status_code=303)


admin = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)


@admin.put("/webhook")
async def set_webhook(request: Request, body: JsonBody) -> Json:
    """Where the app's webhooks go, as set on the Developer Hub's Webhooks page."""
    sandbox = sandbox_of(request)
    sandbox.webhook_url = str(body.get("url") or "") or None
    return {"url": sandbox.webhook_url, "topics": list(sandbox.config.webhook_topics)}


@admin.get("/webhook-deliveries")
async def webhook_deliveries(request: Request) -> Json:
    """Every webhook sent, with the status of each attempt."""
    return delivery_log(sandbox_of(request).deliveries)


async def _on_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntercomError)
    return JSONResponse(error_body(exc.status, exc.code, exc.message), status_code=exc.status)


def create_app(
    config: IntercomConfig | None = None,
    *,
    sandbox: IntercomSandbox | None = None,
    webhook_client: httpx2.AsyncClient | None = None,
) -> FastAPI:
    """The sandbox app around a new (or the given) IntercomSandbox, reachable as `app.state.sandbox`."""
    workspace = sandbox or IntercomSandbox(config, webhook_client)
    app = FastAPI(title="Intercom sandbox", summary="An emulator of Intercom's documented REST API 2.11")
    app.state.sandbox = workspace
    app.include_router(api)
    app.include_router(console)
    app.include_router(admin)
    app.add_exception_handler(IntercomError, _on_error)
    app.add_exception_handler(RequestValidationError,
                              validation_errors(lambda reason: error_body(400, "parameter_invalid", reason)))
    serve_faults(app)
    return app
