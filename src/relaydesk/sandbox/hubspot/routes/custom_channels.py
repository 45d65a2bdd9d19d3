"""Custom channels API: register a channel, connect channel accounts to inboxes, publish and track messages.

Paths and bodies follow HubSpot's Conversations Custom Channels spec and its guide,
https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide. The
router is mounted under both /conversations/v3/custom-channels and the date-versioned
/conversations/custom-channels/2026-03, which take the same bodies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.responses import Response

from relaydesk.sandbox.hubspot.auth import SandboxDep, require_scopes
from relaydesk.sandbox.hubspot.paging import collection, page
from relaydesk.sandbox.hubspot.state import AccessToken

READ = "conversations.custom_channels.read"
WRITE = "conversations.custom_channels.write"

ReadOrWrite = Annotated[AccessToken, Depends(require_scopes(READ, WRITE))]
Reader = Annotated[AccessToken, Depends(require_scopes(READ))]
Writer = Annotated[AccessToken, Depends(require_scopes(WRITE))]

IdentifierType = Literal["CHANNEL_SPECIFIC_OPAQUE_ID", "HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER", "HS_SHORT_CODE"]

router = APIRouter(tags=["custom channels"])


class ChannelCreate(BaseModel):
    """PublicChannelIntegrationChannelCreate."""

    name: str
    capabilities: dict[str, Any]
    webhookUrl: str | None = None
    channelDescription: str | None = None
    channelLogoUrl: str | None = None
    channelAccountConnectionRedirectUrl: str | None = None


class ChannelPatch(BaseModel):
    """PublicChannelIntegrationChannelPatch; omitted fields keep their value."""

    name: str | None = None
    capabilities: dict[str, Any] | None = None
    webhookUrl: str | None = None
    channelDescription: str | None = None
    channelLogoUrl: str | None = None
    channelAccountConnectionRedirectUrl: str | None = None


class DeliveryIdentifier(BaseModel):
    """PublicDeliveryIdentifier."""

    type: IdentifierType
    value: str


class ChannelAccountEgg(BaseModel):
    """PublicChannelAccountEgg."""

    name: str
    inboxId: str | int
    authorized: bool
    deliveryIdentifier: DeliveryIdentifier | None = None


class ChannelAccountUpdate(BaseModel):
    """PublicChannelAccountUpdateRequest."""

    name: str | None = None
    authorized: bool | None = None


class Participant(BaseModel):
    """ChannelIntegrationParticipant."""

    deliveryIdentifier: DeliveryIdentifier
    name: str | None = None
    senderActorId: str | None = None


class MessageEgg(BaseModel):
    """ChannelIntegrationMessageEgg."""

    channelAccountId: str | int
    messageDirection: Literal["INCOMING", "OUTGOING"]
    text: str
    senders: list[Participant]
    recipients: list[Participant] = []
    timestamp: str | None = None
    attachments: list[dict[str, Any]] = []
    integrationThreadId: str | None = None
    integrationIdempotencyId: str | None = None
    inReplyToId: str | None = None
    richText: str | None = None
    associateWithContactId: int | None = None
    preResolvedContacts: dict[str, Any] | None = None


class MessageStatusUpdate(BaseModel):
    """PublicChannelIntegrationMessageUpdateRequest."""

    statusType: Literal["FAILED", "READ", "SENT"]
    errorMessage: str | None = None


@router.post("", status_code=201)
async def create_channel(
    body: ChannelCreate, sandbox: SandboxDep, hapikey: str | None = None, appId: int | None = None
) -> dict[str, Any]:
    """Register a custom channel with the developer API key and app id.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide
    ("Register your custom channel in HubSpot").
    """
    sandbox.check_developer_key(hapikey, appId)
    return sandbox.create_channel(body.model_dump(exclude_none=True)).to_json()


@router.get("")
async def list_channels(
    request: Request,
    sandbox: SandboxDep,
    hapikey: str | None = None,
    appId: int | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """List the app's custom channels.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    sandbox.check_developer_key(hapikey, appId)
    channels = [c for c in sandbox.state.channels.values() if not c.archived]
    results, paging = page(channels, after, limit, request.url)
    return collection([c.to_json() for c in results], paging, total=len(channels))


@router.get("/{channelId}")
async def get_channel(channelId: str, sandbox: SandboxDep, hapikey: str | None = None) -> dict[str, Any]:
    """Read one custom channel.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    sandbox.check_developer_key(hapikey)
    return sandbox.channel(channelId).to_json()


@router.patch("/{channelId}")
async def update_channel(
    channelId: str, body: ChannelPatch, sandbox: SandboxDep, hapikey: str | None = None
) -> dict[str, Any]:
    """Update a channel's capabilities, webhook URL or presentation.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    sandbox.check_developer_key(hapikey)
    return sandbox.update_channel(channelId, body.model_dump(exclude_none=True)).to_json()


@router.delete("/{channelId}", status_code=204)
async def archive_channel(channelId: str, sandbox: SandboxDep, hapikey: str | None = None) -> Response:
    """Archive a custom channel.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    sandbox.check_developer_key(hapikey)
    sandbox.channel(channelId).archived = True
    return Response(status_code=204)


@router.post("/{channelId}/channel-accounts", status_code=201)
async def create_channel_account(
    channelId: str, body: ChannelAccountEgg, sandbox: SandboxDep, _: ReadOrWrite
) -> dict[str, Any]:
    """Connect the channel to an inbox of the installing portal.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/conversations/custom-channels/channel-accounts/create-custom-channel.
    """
    return sandbox.create_channel_account(channelId, body.model_dump(exclude_none=True)).to_json()


@router.get("/{channelId}/channel-accounts")
async def list_channel_accounts(
    request: Request,
    channelId: str,
    sandbox: SandboxDep,
    _: ReadOrWrite,
    after: str | None = None,
    limit: int | None = None,
    deliveryIdentifierType: IdentifierType | None = None,
    deliveryIdentifierValue: str | None = None,
) -> dict[str, Any]:
    """List a channel's accounts, optionally by delivery identifier.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    sandbox.channel(channelId)
    accounts = [
        a
        for a in sandbox.state.channel_accounts.values()
        if a.channel_id == channelId
        and (deliveryIdentifierType is None or (a.delivery_identifier or {}).get("type") == deliveryIdentifierType)
        and (deliveryIdentifierValue is None or (a.delivery_identifier or {}).get("value") == deliveryIdentifierValue)
    ]
    results, paging = page(accounts, after, limit, request.url)
    return collection([a.to_json() for a in results], paging, total=len(accounts))


@router.get("/{channelId}/channel-accounts/{channelAccountId}")
async def get_channel_account(
    channelId: str, channelAccountId: str, sandbox: SandboxDep, _: ReadOrWrite
) -> dict[str, Any]:
    """Read one channel account.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    return sandbox.channel_account(channelId, channelAccountId).to_json()


@router.patch("/{channelId}/channel-accounts/{channelAccountId}")
async def update_channel_account(
    channelId: str, channelAccountId: str, body: ChannelAccountUpdate, sandbox: SandboxDep, _: ReadOrWrite
) -> dict[str, Any]:
    """Rename a channel account or set `authorized` (false disables it).

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    return sandbox.update_channel_account(channelId, channelAccountId, body.model_dump(exclude_none=True)).to_json()


@router.post("/{channelId}/messages", status_code=201)
async def publish_message(channelId: str, body: MessageEgg, sandbox: SandboxDep, token: Writer) -> dict[str, Any]:
    """Publish a message over the channel; a new integrationThreadId opens a new thread.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/conversations/custom-channels/messages/create-custom-channel.
    """
    return sandbox.publish_message(channelId, body.model_dump(exclude_none=True), token)


@router.get("/{channelId}/messages/{messageId}")
async def get_message(channelId: str, messageId: str, sandbox: SandboxDep, _: Reader) -> dict[str, Any]:
    """Read a message sent over the channel.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide.
    """
    return sandbox.channel_message(channelId, messageId)


@router.patch("/{channelId}/messages/{messageId}")
async def update_message_status(
    channelId: str, messageId: str, body: MessageStatusUpdate, sandbox: SandboxDep, _: Writer
) -> dict[str, Any]:
    """Report an outgoing message as SENT, FAILED (with errorMessage) or READ.

    Follows https://developers.hubspot.com/docs/api-reference/latest/conversations/custom-channels/messages/update-custom-channel.
    """
    return sandbox.update_message_status(channelId, messageId, body.statusType, body.errorMessage)
