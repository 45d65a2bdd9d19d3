"""The rep console at /_sandbox/console: inboxes, threads, and a rep's reply, note, assignment and close."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.sandbox.hubspot.auth import SandboxDep
from relaydesk.sandbox.hubspot.sandbox import HubSpotSandbox
from relaydesk.sandbox.hubspot.state import Thread

PREFIX = "/_sandbox/console"
UI_SOURCE = "CRM_UI"

router = APIRouter(prefix=PREFIX, tags=["sandbox"], include_in_schema=False)

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }
header { background: #ff7a59; color: #fff; padding: .8rem 1.5rem; font-weight: 600; }
header a { color: #fff; text-decoration: none; }
main { max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #edf0f3; vertical-align: top; }
.status-OPEN { color: #0b7a3e; font-weight: 600; } .status-CLOSED { color: #7b8794; font-weight: 600; }
.message { border-radius: 6px; padding: .5rem .8rem; margin: .5rem 0; max-width: 75%; }
.INCOMING { background: #eef2f7; } .OUTGOING { background: #e3f2fd; margin-left: auto; }
.COMMENT { background: #fff8e1; border: 1px dashed #f0b429; margin-left: auto; }
.meta { font-size: .8rem; color: #616e7c; }
form.inline { display: inline-block; margin-right: .6rem; }
textarea { width: 100%; min-height: 4rem; box-sizing: border-box; }
button { background: #425b76; color: #fff; border: 0; border-radius: 4px; padding: .35rem .9rem; cursor: pointer; }
"""


def _home(request: Request) -> str:
    """The console's own path, below wherever the sandbox is mounted."""
    return f"{request.scope.get('root_path', '')}{PREFIX}"


def _page(request: Request, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><header><a href='{_home(request)}'>HubSpot sandbox · rep console</a>"
        f"</header><main>{body}</main></body></html>"
    )


def _contact_label(sandbox: HubSpotSandbox, thread: Thread) -> str:
    contact = sandbox.state.contacts.get(thread.associated_contact_id)
    if contact is not None:
        name = " ".join(p for p in (contact.properties.get("firstname"), contact.properties.get("lastname")) if p)
        return name or str(contact.properties.get("email") or f"Contact {contact.id}")
    return str(thread.visitor.get("name") or f"Visitor {thread.associated_contact_id}")


def _rep_options(sandbox: HubSpotSandbox, selected: str | None, blank: str | None = None) -> str:
    options = [f"<option value=''>{escape(blank)}</option>"] if blank is not None else []
    for rep in sandbox.config.reps:
        actor = f"A-{rep.user_id}"
        chosen = " selected" if actor == selected else ""
        options.append(f"<option value='{actor}'{chosen}>{escape(rep.first_name)} {escape(rep.last_name)}</option>")
    return "".join(options)


@router.get("")
async def inboxes(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    """List inboxes and their threads."""
    home = _home(request)
    sections = []
    for inbox in sandbox.state.inboxes.values():
        rows = []
        for thread in sandbox.threads([inbox.id]):
            last = thread.messages[-1]["text"] if thread.messages else ""
            assignee = sandbox.actor_name(thread.assigned_to) if thread.assigned_to else "Unassigned"
            rows.append(
                f"<tr><td><a href='{home}/threads/{thread.id}'>#{thread.id}</a></td>"
                f"<td>{escape(_contact_label(sandbox, thread))}</td>"
                f"<td class='status-{thread.status}'>{thread.status}</td><td>{escape(assignee)}</td>"
                f"<td>{escape(last[:80])}</td></tr>"
            )
        table = (
            "<table><tr><th>Thread</th><th>Contact</th><th>Status</th><th>Assignee</th><th>Last message</th></tr>"
            + "".join(rows)
            + "</table>"
            if rows
            else "<p class='meta'>No conversations yet.</p>"
        )
        sections.append(
            f"<section><h2>{escape(inbox.name)} <span class='meta'>{inbox.type} · id {inbox.id}</span></h2>"
            f"{table}</section>"
        )
    return _page(request, "Inboxes", "".join(sections))


def _message_html(sandbox: HubSpotSandbox, message: dict[str, Any]) -> str:
    kind = "COMMENT" if message["type"] == "COMMENT" else message.get("direction", "INCOMING")
    senders = message.get("senders") or [{}]
    who = senders[0].get("name") or sandbox.actor_name(str(message.get("createdBy", ""))) or message.get("createdBy")
    label = "Internal note" if kind == "COMMENT" else ("Visitor" if kind == "INCOMING" else "Reply")
    status = (message.get("status") or {}).get("statusType")
    suffix = f" · {escape(status)}" if status else ""
    return (
        f"<div class='message {kind}'><div class='meta'>{label} · {escape(str(who))} · "
        f"{escape(message['createdAt'])}{suffix}</div><div>{escape(message['text'])}</div></div>"
    )


@router.get("/threads/{thread_id}")
async def thread_page(request: Request, thread_id: str, sandbox: SandboxDep) -> HTMLResponse:
    """Show one thread with the rep's actions."""
    thread = sandbox.thread(thread_id)
    messages = "".join(_message_html(sandbox, m) for m in thread.messages) or "<p class='meta'>No messages.</p>"
    action = f"{_home(request)}/threads/{thread.id}"
    toggle = "OPEN" if thread.status == "CLOSED" else "CLOSED"
    toggle_label = "Reopen" if toggle == "OPEN" else "Close"
    ticket = f" · ticket {escape(thread.ticket_id)}" if thread.ticket_id else ""
    body = (
        f"<section><h2>{escape(_contact_label(sandbox, thread))}</h2><p class='meta'>Thread {thread.id} · "
        f"<span class='status-{thread.status}'>{thread.status}</span> · inbox {thread.inbox_id}{ticket}</p>"
        f"<form class='inline' method='post' action='{action}/assign'><select name='actor_id'>"
        f"{_rep_options(sandbox, thread.assigned_to, 'Unassigned')}</select> <button>Assign</button></form>"
        f"<form class='inline' method='post' action='{action}/status'><input type='hidden' name='status' "
        f"value='{toggle}'><button>{toggle_label}</button></form></section>"
        f"<section>{messages}</section>"
        f"<section><form method='post' action='{action}/reply'><h3>Reply</h3><textarea name='text' required>"
        f"</textarea><p>As <select name='actor_id'>{_rep_options(sandbox, thread.assigned_to)}</select> "
        f"<button>Send reply</button></p></form></section>"
        f"<section><form method='post' action='{action}/comment'><h3>Internal note</h3><textarea name='text' "
        f"required></textarea><p>As <select name='actor_id'>{_rep_options(sandbox, thread.assigned_to)}</select> "
        f"<button>Add note</button></p></form></section>"
    )
    return _page(request, f"Thread {thread.id}", body)


def _back(request: Request, thread_id: str) -> Response:
    return RedirectResponse(f"{_home(request)}/threads/{thread_id}", status_code=303)


@router.post("/threads/{thread_id}/reply")
async def reply(
    request: Request,
    thread_id: str,
    sandbox: SandboxDep,
    text: Annotated[str, Form()],
    actor_id: Annotated[str, Form()] = "",
) -> Response:
    """Send a rep reply; the thread's custom channel receives the outgoing-message webhook."""
    sandbox.send_rep_message(thread_id, text, actor_id=actor_id or sandbox.default_rep_actor, source=UI_SOURCE)
    return _back(request, thread_id)


@router.post("/threads/{thread_id}/comment")
async def comment(
    request: Request,
    thread_id: str,
    sandbox: SandboxDep,
    text: Annotated[str, Form()],
    actor_id: Annotated[str, Form()] = "",
) -> Response:
    """Add an internal note."""
    sandbox.add_comment(thread_id, text, actor_id=actor_id or sandbox.default_rep_actor, source=UI_SOURCE)
    return _back(request, thread_id)


@router.post("/threads/{thread_id}/assign")
async def assign(
    request: Request, thread_id: str, sandbox: SandboxDep, actor_id: Annotated[str, Form()] = ""
) -> Response:
    """Assign the thread to a rep, or unassign it."""
    sandbox.assign(thread_id, actor_id or None, source=UI_SOURCE)
    return _back(request, thread_id)


@router.post("/threads/{thread_id}/status")
async def set_status(
    request: Request, thread_id: str, sandbox: SandboxDep, status: Annotated[str, Form()]
) -> Response:
    """Close or reopen the thread; subscribers hear conversation.propertyChange."""
    sandbox.set_status(thread_id, "CLOSED" if status == "CLOSED" else "OPEN", source=UI_SOURCE)
    return _back(request, thread_id)
