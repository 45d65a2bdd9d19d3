"""Conversations inbox and messages API: inboxes, threads, messages and comments, status, assignment, actors.

Follows HubSpot's Conversations Inbox & Messages spec and guide,
https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.auth import SandboxDep, require_scopes
from relaydesk.sandbox.hubspot.paging import collection, page
from relaydesk.sandbox.hubspot.state import AccessToken, TokenKind

Reader = Annotated[AccessToken, Depends(require_scopes("conversations.read"))]
Writer = Annotated[AccessToken, Depends(require_scopes("conversations.write"))]

router = APIRouter(tags=["conversations"])


class RecipientEgg(BaseModel):
    """PublicRecipientEgg."""

    actorId: str | None = None
    name: str | None = None
    recipientField: str | None = None
    deliveryIdentifiers: list[dict[str, Any]] = []


class MessageEgg(BaseModel):
    """PublicCommentEgg or PublicConversationsMessageEgg, told apart by `type`."""

    type: Literal["COMMENT", "MESSAGE"]
    text: str
    richText: str | None = None
    attachments: list[dict[str, Any]] = []
    senderActorId: str | None = None
    channelId: str | int | None = None
    channelAccountId: str | int | None = None
    recipients: list[RecipientEgg] = []
    subject: str | None = None


class ThreadUpdate(BaseModel):
    """PublicThreadUpdateRequest."""

    status: Literal["OPEN", "CLOSED"] | None = None
    archived: bool | None = None


class AssignRequest(BaseModel):
    """PublicThreadAssignRequest."""

    actorId: str


@router.get("/conversations/v3/conversations/inboxes")
async def list_inboxes(
    request: Request, sandbox: SandboxDep, _: Reader, after: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """List the portal's inboxes and help desk.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Inboxes).
    """
    inboxes = list(sandbox.state.inboxes.values())
    results, paging = page(inboxes, after, limit, request.url)
    return collection([i.to_json() for i in results], paging, total=len(inboxes))


@router.get("/conversations/v3/conversations/inboxes/{inboxId}")
async def get_inbox(inboxId: str, sandbox: SandboxDep, _: Reader) -> dict[str, Any]:
    """Read one inbox.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Inboxes).
    """
    return sandbox.inbox(inboxId).to_json()


@router.get("/conversations/v3/conversations/threads")
async def list_threads(
    request: Request,
    sandbox: SandboxDep,
    _: Reader,
    inboxId: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    threadStatus: Literal["OPEN", "CLOSED"] | None = None,
    associatedContactId: str | None = None,
    archived: bool = False,
    association: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """List threads, filtered by inbox, status or contact.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Retrieve threads).
    """
    threads = sandbox.threads(inboxId, threadStatus, associatedContactId, archived)
    results, paging = page(threads, after, limit, request.url, default=100, maximum=500)
    return collection([t.to_json(association == "TICKET") for t in results], paging)


@router.get("/conversations/v3/conversations/threads/{threadId}")
async def get_thread(
    threadId: str, sandbox: SandboxDep, _: Reader, archived: bool = False, association: str | None = None
) -> dict[str, Any]:
    """Read a thread; `association=TICKET` adds threadAssociations.associatedTicketId.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Retrieve threads).
    """
    return sandbox.thread(threadId, archived).to_json(association == "TICKET")


@router.patch("/conversations/v3/conversations/threads/{threadId}")
async def update_thread(
    threadId: str, body: ThreadUpdate, sandbox: SandboxDep, _: Writer, archived: bool = False
) -> dict[str, Any]:
    """Close or reopen a thread, or restore an archived one with `archived=false` and `?archived=true`.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Update or restore threads).
    """
    if archived:
        if body.archived is not False:
            raise errors.validation("An archived thread can only be restored with archived=false")
        return sandbox.restore(threadId).to_json()
    if body.status is None:
        raise errors.validation("Provide status (OPEN or CLOSED)")
    return sandbox.set_status(threadId, body.status).to_json()


@router.delete("/conversations/v3/conversations/threads/{threadId}", status_code=204)
async def archive_thread(threadId: str, sandbox: SandboxDep, _: Writer) -> Response:
    """Archive a thread.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Archive threads).
    """
    sandbox.archive(threadId)
    return Response(status_code=204)


@router.get("/conversations/v3/conversations/threads/{threadId}/messages")
async def list_messages(
    request: Request,
    threadId: str,
    sandbox: SandboxDep,
    _: Reader,
    after: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """List a thread's messages and comments, oldest first.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Retrieve messages).
    """
    thread = sandbox.thread(threadId)
    results, paging = page(thread.messages, after, limit, request.url, default=100, maximum=500)
    return collection(results, paging)


@router.get("/conversations/v3/conversations/threads/{threadId}/messages/{messageId}")
async def get_message(threadId: str, messageId: str, sandbox: SandboxDep, _: Reader) -> dict[str, Any]:
    """Read one message of a thread.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Retrieve messages).
    """
    thread = sandbox.thread(threadId)
    message = next((m for m in thread.messages if m["id"] == messageId), None)
    if message is None:
        raise errors.not_found(f"Message {messageId} not found")
    return message


@router.post("/conversations/v3/conversations/threads/{threadId}/messages", status_code=201)
async def create_message(threadId: str, body: MessageEgg, sandbox: SandboxDep, token: Writer) -> dict[str, Any]:
    """Post an internal COMMENT, or a rep MESSAGE sent on the thread's channel.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/conversations/conversations/threads/create-conversation.
    """
    if body.type == "COMMENT":
        actor = f"A-{token.user_id}" if token.kind is TokenKind.PRIVATE_APP else f"I-{token.app_id}"
        return sandbox.add_comment(threadId, body.text, body.richText, actor_id=actor, client_type="INTEGRATION")
    thread = sandbox.thread(threadId)
    required = {"senderActorId": body.senderActorId, "channelId": body.channelId,
                "channelAccountId": body.channelAccountId, "recipients": body.recipients or None}
    missing = [name for name, value in required.items() if value is None]
    if missing:
        raise errors.validation(f"A MESSAGE needs {', '.join(missing)}")
    if str(body.channelId) != thread.channel_id or str(body.channelAccountId) != thread.channel_account_id:
        raise errors.validation("channelId and channelAccountId must be those of the thread")
    return sandbox.send_rep_message(threadId, body.text, body.richText, actor_id=str(body.senderActorId),
                                    attachments=body.attachments)


@router.put("/conversations/conversations/v3/threads/{threadId}/assignee")
async def assign_thread(threadId: str, body: AssignRequest, sandbox: SandboxDep, _: Writer) -> dict[str, Any]:
    """Assign a thread to a rep (actorId A-<userId>).

    Follows HubSpot's Conversations Inbox & Messages spec (PublicThreadAssignRequest), see
    https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages.
    """
    return sandbox.assign(threadId, body.actorId).to_json()


@router.delete("/conversations/conversations/v3/threads/{threadId}/assignee", status_code=204)
async def unassign_thread(threadId: str, sandbox: SandboxDep, _: Writer) -> Response:
    """Remove a thread's assignee.

    Follows HubSpot's Conversations Inbox & Messages spec, see
    https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages.
    """
    sandbox.assign(threadId, None)
    return Response(status_code=204)


@router.get("/conversations/v3/conversations/actors/{actorId}")
async def get_actor(actorId: str, sandbox: SandboxDep, _: Reader) -> dict[str, Any]:
    """Resolve an actor id (A-… rep, V-… visitor) to a name and email.

    Follows https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages (Get actors).
    """
    return sandbox.actor(actorId)
