"""The sandbox portal: every operation the routes, the rep console and tests perform, and the webhooks they cause."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx2

from relaydesk.sandbox.faults import FaultPlan, RateLimiter
from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.config import SandboxConfig
from relaydesk.sandbox.hubspot.errors import HubSpotError
from relaydesk.sandbox.hubspot.state import (
    AccessToken,
    AuthorizationCode,
    Channel,
    ChannelAccount,
    CrmObject,
    Inbox,
    Json,
    PortalState,
    RefreshToken,
    StoredFile,
    Subscription,
    Thread,
    TokenKind,
    WebhookSettings,
    iso,
)
from relaydesk.sandbox.hubspot.webhooks import WebhookSender

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Ticket associations the sandbox understands, by HubSpot-defined type id
# (https://developers.hubspot.com/docs/api-reference/latest/crm/associations/overview).
TICKET_TO_CONTACT = 16
CONTACT_TO_TICKET = 15
TICKET_TO_THREAD = 32
ASSOCIATION_TARGETS = {TICKET_TO_CONTACT: "contacts", TICKET_TO_THREAD: "conversations"}

OBJECT_TYPE_IDS = {"contacts": "0-1", "tickets": "0-5", "conversations": "0-11"}
OBJECT_TYPE_ALIASES = {
    "contact": "contacts",
    "contacts": "contacts",
    "0-1": "contacts",
    "ticket": "tickets",
    "tickets": "tickets",
    "0-5": "tickets",
    "conversation": "conversations",
    "conversations": "conversations",
    "thread": "conversations",
    "0-11": "conversations",
}

DEFAULT_PIPELINE_STAGES = (
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
)

SUBSCRIPTION_TYPES = frozenset(
    {
        "conversation.creation",
        "conversation.deletion",
        "conversation.privacyDeletion",
        "conversation.propertyChange",
        "conversation.newMessage",
        "contact.creation",
        "contact.deletion",
        "contact.propertyChange",
        "ticket.creation",
        "ticket.deletion",
        "ticket.propertyChange",
    }
)

ChangeSource = str
SEED_TIME = datetime(2024, 1, 1, tzinfo=UTC)


class HubSpotSandbox:
    """One emulated HubSpot portal with its developer app, held in memory."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        webhook_client: httpx2.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock
        self.state = PortalState()
        self.faults = FaultPlan(error_body=errors.provider_error_body)
        self.limiter = RateLimiter()
        self.webhooks = WebhookSender(
            webhook_client,
            self.config.client_secret,
            self.config.retry_policy,
            now_ms=self.now_ms,
        )
        self._seed()

    def _seed(self) -> None:
        created = self.now()
        for seed in self.config.inboxes:
            self.state.inboxes[seed.inbox_id] = Inbox(seed.inbox_id, seed.name, seed.type, created)
        for token, scopes in self.config.private_app_tokens.items():
            user_id = self.config.reps[0].user_id if self.config.reps else 0
            self.state.access_tokens[token] = AccessToken(
                token, TokenKind.PRIVATE_APP, frozenset(scopes), user_id, None, None
            )

    async def aclose(self) -> None:
        """Finish pending webhook deliveries and close the HTTP client the sandbox made for them."""
        await self.webhooks.aclose()

    @property
    def default_rep_actor(self) -> str:
        """The actor id (A-<userId>) of the first rep, who acts when no rep is named."""
        return f"A-{self.config.reps[0].user_id}" if self.config.reps else "A-0"

    def now(self) -> datetime:
        """The sandbox's current time."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def now_ms(self) -> int:
        """The sandbox's current time in epoch milliseconds."""
        return int(self.clock() * 1000)

    # OAuth ------------------------------------------------------------------------------------------------------

    def check_client(self, client_id: str, redirect_uri: str) -> None:
        """Reject an authorize request for an unknown app or an unregistered redirect URI."""
        if client_id != self.config.client_id:
            raise errors.validation("Unknown client_id")
        if self.config.redirect_uris and redirect_uri not in self.config.redirect_uris:
            raise errors.validation("redirect_uri does not match a redirect URL of the app")

    def authorize(self, client_id: str, redirect_uri: str, scope: str, optional_scope: str = "") -> str:
        """Approve an install as the portal's first rep would, and return the single-use code."""
        self.check_client(client_id, redirect_uri)
        requested = set(scope.split())
        unknown = requested - set(self.config.app_scopes)
        if unknown:
            raise errors.validation(f"The app does not request these scopes: {' '.join(sorted(unknown))}")
        granted = requested | (set(optional_scope.split()) & set(self.config.app_scopes))
        code = secrets.token_urlsafe(24)
        user_id = self.config.reps[0].user_id if self.config.reps else 0
        self.state.codes[code] = AuthorizationCode(code, self.config.app_id, redirect_uri, frozenset(granted), user_id)
        return code

    def _token_pair(self, scopes: frozenset[str], user_id: int, refresh: str | None = None) -> Json:
        access = "CJ" + secrets.token_urlsafe(48)
        self.state.access_tokens[access] = AccessToken(
            access,
            TokenKind.OAUTH,
            scopes,
            user_id,
            self.config.app_id,
            self.clock() + self.config.access_token_ttl_seconds,
        )
        if refresh is None:
            refresh = f"na1-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
            self.state.refresh_tokens[refresh] = RefreshToken(refresh, self.config.app_id, scopes, user_id)
        self.state.installed = True
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": self.config.access_token_ttl_seconds,
            "hub_id": self.config.portal_id,
            "scopes": sorted(scopes),
        }

    def grant_tokens(self, form: dict[str, str]) -> Json:
        """Answer POST /oauth/v1/token for the authorization_code and refresh_token grants."""
        grant = form.get("grant_type", "")
        if grant not in {"authorization_code", "refresh_token"}:
            raise _oauth_error("BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token")
        if form.get("client_id") != self.config.client_id:
            raise _oauth_error("BAD_CLIENT_ID", "missing or invalid client_id")
        if form.get("client_secret") != self.config.client_secret:
            raise _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client_secret")
        if grant == "authorization_code":
            code = self.state.codes.pop(form.get("code", ""), None)
            if code is None:
                raise _oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
            if form.get("redirect_uri") != code.redirect_uri:
                raise _oauth_error("BAD_REDIRECT_URI", "redirect_uri does not match the one used to authorize")
            return self._token_pair(code.scopes, code.user_id)
        refresh = self.state.refresh_tokens.get(form.get("refresh_token", ""))
        if refresh is None:
            raise _oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        return self._token_pair(refresh.scopes, refresh.user_id, refresh.token)

    def access_token_info(self, token: str) -> Json:
        """Metadata of an access token, as GET /oauth/v1/access-tokens/{token} returns it."""
        record = self.state.access_tokens.get(token)
        if record is None or record.kind is not TokenKind.OAUTH or record.expires_at is None:
            raise errors.not_found("Token not found")
        left = int(record.expires_at - self.clock())
        if left <= 0:
            raise errors.not_found("Token not found")
        return {
            "token": token,
            "user": self.rep_email(record.user_id),
            "hub_domain": self.config.hub_domain,
            "scopes": sorted(record.scopes),
            "hub_id": self.config.portal_id,
            "app_id": self.config.app_id,
            "expires_in": left,
            "user_id": record.user_id,
            "token_type": "access",
        }

    def refresh_token_info(self, token: str) -> Json:
        """Metadata of a refresh token, as GET /oauth/v1/refresh-tokens/{token} returns it."""
        record = self.state.refresh_tokens.get(token)
        if record is None:
            raise errors.not_found("Token not found")
        return {
            "token": token,
            "user": self.rep_email(record.user_id),
            "hub_domain": self.config.hub_domain,
            "scopes": sorted(record.scopes),
            "hub_id": self.config.portal_id,
            "client_id": self.config.client_id,
            "user_id": record.user_id,
            "token_type": "refresh",
        }

    def revoke_refresh_token(self, token: str) -> None:
        """Delete a refresh token; access tokens already issued stay valid until they expire."""
        if self.state.refresh_tokens.pop(token, None) is None:
            raise errors.not_found("Token not found")

    def authenticate(self, authorization: str | None) -> AccessToken:
        """The token behind an Authorization header, or HubSpot's 401."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise errors.unauthenticated()
        record = self.state.access_tokens.get(authorization[7:].strip())
        if record is None:
            raise errors.unauthenticated()
        if record.expires_at is not None and self.clock() >= record.expires_at:
            raise errors.expired(int(self.clock() - record.expires_at))
        return record

    def check_developer_key(self, hapikey: str | None, app_id: int | None = None) -> None:
        """Reject developer endpoints called without the app's developer API key."""
        if hapikey != self.config.developer_api_key:
            raise errors.bad_api_key()
        if app_id is not None and app_id != self.config.app_id:
            raise errors.validation(f"App {app_id} does not belong to this developer account")

    def rep_email(self, user_id: int) -> str:
        """The login email of a rep, or an empty string."""
        return next((rep.email for rep in self.config.reps if rep.user_id == user_id), "")

    # Custom channels --------------------------------------------------------------------------------------------

    def create_channel(self, body: Json) -> Channel:
        """Register a custom channel."""
        channel = Channel(
            id=self.state.next_id("channel", 1_000),
            name=body["name"],
            capabilities=body["capabilities"],
            webhook_url=body.get("webhookUrl"),
            description=body.get("channelDescription"),
            logo_url=body.get("channelLogoUrl"),
            connection_redirect_url=body.get("channelAccountConnectionRedirectUrl"),
            created_at=self.now(),
        )
        self.state.channels[channel.id] = channel
        return channel

    def channel(self, channel_id: str) -> Channel:
        """A live custom channel, or 404."""
        channel = self.state.channels.get(channel_id)
        if channel is None or channel.archived:
            raise errors.not_found(f"Channel {channel_id} not found")
        return channel

    def update_channel(self, channel_id: str, body: Json) -> Channel:
        """Change a channel's capabilities, webhook URL or presentation."""
        channel = self.channel(channel_id)
        fields = {
            "name": "name",
            "capabilities": "capabilities",
            "webhookUrl": "webhook_url",
            "channelDescription": "description",
            "channelLogoUrl": "logo_url",
            "channelAccountConnectionRedirectUrl": "connection_redirect_url",
        }
        for key, attribute in fields.items():
            if key in body:
                setattr(channel, attribute, body[key])
        return channel

    def create_channel_account(self, channel_id: str, body: Json) -> ChannelAccount:
        """Connect a channel to an inbox; HubSpot tells the channel's webhook with CHANNEL_ACCOUNT_CREATED."""
        channel = self.channel(channel_id)
        inbox_id = str(body["inboxId"])
        if inbox_id not in self.state.inboxes:
            raise errors.validation(f"Inbox {inbox_id} does not exist")
        account = ChannelAccount(
            id=self.state.next_id("channel_account", 50_000_001),
            channel_id=channel.id,
            inbox_id=inbox_id,
            name=body["name"],
            authorized=bool(body["authorized"]),
            delivery_identifier=body.get("deliveryIdentifier"),
            created_at=self.now(),
        )
        self.state.channel_accounts[account.id] = account
        self._channel_account_event(channel, account, "CHANNEL_ACCOUNT_CREATED")
        return account

    def channel_account(self, channel_id: str, account_id: str) -> ChannelAccount:
        """A channel account of a channel, or 404."""
        account = self.state.channel_accounts.get(account_id)
        if account is None or account.channel_id != channel_id:
            raise errors.not_found(f"Channel account {account_id} not found")
        return account

    def update_channel_account(self, channel_id: str, account_id: str, body: Json) -> ChannelAccount:
        """Rename or (de)authorize a channel account."""
        channel = self.channel(channel_id)
        account = self.channel_account(channel_id, account_id)
        if "name" in body:
            account.name = body["name"]
        if "authorized" in body:
            account.authorized = bool(body["authorized"])
        self._channel_account_event(channel, account, "CHANNEL_ACCOUNT_UPDATED")
        return account

    def _channel_account_event(self, channel: Channel, account: ChannelAccount, event_type: str) -> None:
        if channel.webhook_url:
            self.webhooks.send_channel_event(
                channel.webhook_url,
                {
                    "type": event_type,
                    "portalId": self.config.portal_id,
                    "channelId": channel.id,
                    "channelAccountId": account.id,
                    "channelAccount": account.to_json(),
                },
            )

    def publish_message(self, channel_id: str, egg: Json, token: AccessToken) -> Json:
        """Publish a message from the integration onto a thread of the channel account's inbox."""
        channel = self.channel(channel_id)
        account = self.channel_account(channel_id, str(egg["channelAccountId"]))
        if not account.authorized:
            raise errors.validation(f"Channel account {account.id} is not authorized")
        idempotency = egg.get("integrationIdempotencyId")
        if idempotency and (channel.id, idempotency) in self.state.idempotency:
            return self.message(self.state.idempotency[(channel.id, idempotency)])
        attachments = self._attachments(channel, egg.get("attachments") or [])
        direction = egg["messageDirection"]
        senders = egg["senders"]
        if not senders:
            raise errors.validation("senders must contain at least one participant")
        visitor_side = senders[0] if direction == "INCOMING" else (egg.get("recipients") or [senders[0]])[0]
        thread, created = self._thread_for(channel, account, egg, visitor_side, token)
        stamp = _parse_time(egg.get("timestamp")) or self.now()
        visitor_actor = f"V-{thread.associated_contact_id}"
        integration_actor = f"I-{token.app_id or 0}"
        if direction == "INCOMING":
            senders_out = [{**p, "actorId": visitor_actor} for p in senders]
            recipients_out = [dict(p) for p in egg.get("recipients") or []]
            created_by = visitor_actor
            thread.latest_received = stamp
        else:
            senders_out = [{**p, "actorId": p.get("senderActorId", integration_actor)} for p in senders]
            recipients_out = [{**p, "actorId": visitor_actor} for p in egg.get("recipients") or []]
            created_by = senders_out[0]["actorId"]
            thread.latest_sent = stamp
        message = self._message_json(
            thread,
            direction=direction,
            text=egg["text"],
            rich_text=egg.get("richText"),
            senders=[{k: v for k, v in p.items() if k != "senderActorId"} for p in senders_out],
            recipients=[{k: v for k, v in p.items() if k != "senderActorId"} for p in recipients_out],
            attachments=attachments,
            created_by=created_by,
            client={"clientType": "INTEGRATION", "integrationAppId": token.app_id or 0},
            created_at=stamp,
            in_reply_to=egg.get("inReplyToId"),
        )
        if direction == "INCOMING":
            message["status"] = {"statusType": "RECEIVED"}
        self._store_message(thread, message)
        if idempotency:
            self.state.idempotency[(channel.id, idempotency)] = message["id"]
        if created:
            self._app_event("conversation.creation", thread.id, "API")
        self._app_event("conversation.newMessage", thread.id, "API", messageId=message["id"],
                        messageType="MESSAGE", changeFlag="NEW_MESSAGE")
        return message

    def _attachments(self, channel: Channel, attachments: list[Json]) -> list[Json]:
        caps = channel.capabilities
        limit = caps.get("maxFileAttachmentCount")
        if isinstance(limit, int) and len(attachments) > limit:
            raise errors.validation(f"At most {limit} attachments are allowed on this channel")
        allowed_types = caps.get("allowedFileAttachmentMimeTypes")
        max_size = caps.get("maxFileAttachmentSizeBytes")
        out: list[Json] = []
        for attachment in attachments:
            if attachment.get("type") != "FILE":
                out.append(attachment)
                continue
            stored = self.state.files.get(str(attachment.get("fileId")))
            if stored is None:
                raise errors.validation(f"File {attachment.get('fileId')} does not exist")
            if isinstance(max_size, int) and len(stored.content) > max_size:
                raise errors.validation(f"File {stored.id} is larger than {max_size} bytes")
            if isinstance(allowed_types, list) and stored.content_type not in allowed_types:
                raise errors.validation(f"Files of type {stored.content_type} are not allowed on this channel")
            out.append(self._file_attachment(stored, attachment.get("fileUsageType", "OTHER")))
        return out

    def _thread_for(
        self, channel: Channel, account: ChannelAccount, egg: Json, visitor: Json, token: AccessToken
    ) -> tuple[Thread, bool]:
        integration_thread_id = egg.get("integrationThreadId")
        if integration_thread_id:
            existing = self.state.threads_by_integration_id.get((channel.id, integration_thread_id))
            if existing is not None and not self.state.threads[existing].archived:
                return self.state.threads[existing], False
        thread = Thread(
            id=self.state.next_id("thread", 7_000_000_001),
            inbox_id=account.inbox_id,
            channel_id=channel.id,
            channel_account_id=account.id,
            integration_thread_id=integration_thread_id,
            associated_contact_id=self._resolve_contact(egg, visitor, token),
            visitor=visitor,
            created_at=self.now(),
        )
        self.state.threads[thread.id] = thread
        if integration_thread_id:
            self.state.threads_by_integration_id[(channel.id, integration_thread_id)] = thread.id
        if self.state.inboxes[account.inbox_id].type == "HELP_DESK":
            self._help_desk_ticket(thread, visitor)
        return thread, True

    def _resolve_contact(self, egg: Json, visitor: Json, token: AccessToken) -> str:
        pinned = egg.get("associateWithContactId")
        if pinned is not None and str(pinned) in self.state.contacts:
            return str(pinned)
        resolved = (egg.get("preResolvedContacts") or {}).get("contacts") or []
        for entry in resolved:
            if str(entry.get("contactVid")) in self.state.contacts:
                return str(entry["contactVid"])
        identifier = visitor.get("deliveryIdentifier") or {}
        if identifier.get("type") == "HS_EMAIL_ADDRESS":
            email = str(identifier.get("value", "")).lower()
            found = self.contact_by_email(email)
            if found is not None:
                return found.id
            if "crm.objects.contacts.write" in token.scopes and EMAIL_RE.match(email):
                first, _, last = str(visitor.get("name") or "").partition(" ")
                return self.create_contact({"email": email, "firstname": first, "lastname": last}).id
        return self.state.next_id("visitor", 90_000_001)

    def _help_desk_ticket(self, thread: Thread, visitor: Json) -> None:
        ticket = self.create_ticket(
            {
                "subject": f"Conversation with {visitor.get('name') or 'visitor'}",
                "hs_pipeline": "0",
                "hs_pipeline_stage": "1",
                "source_type": "CHAT",
            },
            [],
        )
        self._link_ticket(ticket, "conversations", thread.id)
        if thread.associated_contact_id in self.state.contacts:
            self._link_ticket(ticket, "contacts", thread.associated_contact_id)

    def message(self, message_id: str) -> Json:
        """Any stored message or comment by id, or 404."""
        found = self.state.messages.get(message_id)
        if found is None:
            raise errors.not_found(f"Message {message_id} not found")
        return found[1]

    def channel_message(self, channel_id: str, message_id: str) -> Json:
        """A message sent over a given custom channel, or 404."""
        message = self.message(message_id)
        if message.get("channelId") != channel_id:
            raise errors.not_found(f"Message {message_id} not found")
        return message

    def update_message_status(self, channel_id: str, message_id: str, status: str, error: str | None) -> Json:
        """Record the integration's delivery status of an outgoing message."""
        message = self.channel_message(channel_id, message_id)
        status_json: Json = {"statusType": status}
        if status == "FAILED":
            status_json["failureDetails"] = {"errorMessage": error or "", "errorMessageTokens": {}}
        message["status"] = status_json
        message["updatedAt"] = iso(self.now())
        return message

    # Conversations ----------------------------------------------------------------------------------------------

    def inbox(self, inbox_id: str) -> Inbox:
        """An inbox, or 404."""
        inbox = self.state.inboxes.get(inbox_id)
        if inbox is None:
            raise errors.not_found(f"Inbox {inbox_id} not found")
        return inbox

    def thread(self, thread_id: str, archived: bool = False) -> Thread:
        """A thread, or 404; archived threads are found only when asked for."""
        thread = self.state.threads.get(thread_id)
        if thread is None or thread.archived != archived:
            raise errors.not_found(f"Thread {thread_id} not found")
        return thread

    def threads(self, inbox_ids: Iterable[str] = (), status: str | None = None,
                contact_id: str | None = None, archived: bool = False) -> list[Thread]:
        """Threads matching the documented list filters, oldest first."""
        inboxes = set(inbox_ids)
        return [
            t
            for t in self.state.threads.values()
            if t.archived == archived
            and (not inboxes or t.inbox_id in inboxes)
            and (status is None or t.status == status)
            and (contact_id is None or t.associated_contact_id == contact_id)
        ]

    def set_status(self, thread_id: str, status: str, source: ChangeSource = "API") -> Thread:
        """Open or close a thread; subscribers hear conversation.propertyChange for `status`."""
        thread = self.thread(thread_id)
        if thread.status == status:
            return thread
        thread.status = status
        thread.closed_at = self.now() if status == "CLOSED" else None
        self._app_event("conversation.propertyChange", thread.id, source, propertyName="status", propertyValue=status)
        return thread

    def restore(self, thread_id: str) -> Thread:
        """Unarchive a thread."""
        thread = self.thread(thread_id, archived=True)
        thread.archived = False
        self._app_event("conversation.propertyChange", thread.id, "API", propertyName="isArchived",
                        propertyValue="false")
        return thread

    def archive(self, thread_id: str) -> None:
        """Archive a thread; subscribers hear conversation.deletion."""
        thread = self.thread(thread_id)
        thread.archived = True
        self._app_event("conversation.deletion", thread.id, "API")

    def assign(self, thread_id: str, actor_id: str | None, source: ChangeSource = "API") -> Thread:
        """Assign a thread to a rep (actor A-<userId>) or unassign it."""
        thread = self.thread(thread_id)
        if actor_id is not None and self._rep_for_actor(actor_id) is None:
            raise errors.validation(f"Actor {actor_id} is not a user of this account")
        thread.assigned_to = actor_id
        self._app_event("conversation.propertyChange", thread.id, source, propertyName="assignedTo",
                        propertyValue=actor_id or "")
        return thread

    def add_comment(self, thread_id: str, text: str, rich_text: str | None = None, *,
                    actor_id: str, client_type: str = "HUBSPOT", source: ChangeSource = "API") -> Json:
        """Post an internal COMMENT on a thread."""
        thread = self.thread(thread_id)
        stamp = iso(self.now())
        comment: Json = {
            "id": self._message_id(),
            "type": "COMMENT",
            "conversationsThreadId": thread.id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "createdBy": actor_id,
            "client": {"clientType": client_type},
            "senders": [{"actorId": actor_id, "name": self.actor_name(actor_id)}],
            "recipients": [],
            "text": text,
            "richText": rich_text if rich_text is not None else f"<p>{escape(text)}</p>",
            "attachments": [],
            "archived": False,
        }
        self._store_message(thread, comment)
        self._app_event("conversation.newMessage", thread.id, source, messageId=comment["id"],
                        messageType="COMMENT", changeFlag="NEW_MESSAGE")
        return comment

    def send_rep_message(self, thread_id: str, text: str, rich_text: str | None = None, *, actor_id: str,
                         attachments: list[Json] | None = None, source: ChangeSource = "API") -> Json:
        """Send a rep's reply on a thread; a custom channel receives OUTGOING_CHANNEL_MESSAGE_CREATED."""
        thread = self.thread(thread_id)
        if self._rep_for_actor(actor_id) is None:
            raise errors.validation(f"senderActorId {actor_id} is not a user of this account")
        channel = self.state.channels.get(thread.channel_id)
        account = self.state.channel_accounts.get(thread.channel_account_id)
        if channel is not None and channel.capabilities.get("allowOutgoingMessages") is False:
            raise errors.validation(f"Channel {channel.id} does not allow outgoing messages")
        now = self.now()
        thread.latest_sent = now
        sender: Json = {"actorId": actor_id, "name": self.actor_name(actor_id)}
        if account is not None and account.delivery_identifier is not None:
            sender["deliveryIdentifier"] = account.delivery_identifier
        recipient: Json = {"actorId": f"V-{thread.associated_contact_id}"}
        if thread.visitor.get("deliveryIdentifier"):
            recipient["deliveryIdentifier"] = thread.visitor["deliveryIdentifier"]
        if thread.visitor.get("name"):
            recipient["name"] = thread.visitor["name"]
        message = self._message_json(
            thread,
            direction="OUTGOING",
            text=text,
            rich_text=rich_text if rich_text is not None else f"<div>{escape(text)}</div>",
            senders=[sender],
            recipients=[recipient],
            attachments=[self._outgoing_file(a) for a in attachments or []],
            created_by=actor_id,
            client={"clientType": "HUBSPOT"},
            created_at=now,
        )
        self._store_message(thread, message)
        self._app_event("conversation.newMessage", thread.id, source, messageId=message["id"],
                        messageType="MESSAGE", changeFlag="NEW_MESSAGE")
        if channel is not None and channel.webhook_url and account is not None and account.authorized:
            self.webhooks.send_channel_event(
                channel.webhook_url,
                {
                    "type": "OUTGOING_CHANNEL_MESSAGE_CREATED",
                    "portalId": self.config.portal_id,
                    "channelId": channel.id,
                    "channelIntegrationThreadIds": [thread.integration_thread_id]
                    if thread.integration_thread_id
                    else [],
                    "message": message,
                },
            )
        return message

    def _outgoing_file(self, attachment: Json) -> Json:
        stored = self.state.files.get(str(attachment.get("fileId")))
        if stored is None:
            raise errors.validation(f"File {attachment.get('fileId')} does not exist")
        return self._file_attachment(stored, "OTHER")

    def _file_attachment(self, stored: StoredFile, usage: str) -> Json:
        """PublicFile: a file attachment as messages carry it."""
        name = f"{stored.name}.{stored.extension}" if stored.extension else stored.name
        return {"type": "FILE", "fileId": stored.id, "fileUsageType": usage, "name": name,
                "url": self.file_url(stored.id)}

    def _message_json(self, thread: Thread, *, direction: str, text: str, rich_text: str | None,
                      senders: list[Json], recipients: list[Json], attachments: list[Json], created_by: str,
                      client: Json, created_at: datetime, in_reply_to: str | None = None) -> Json:
        message: Json = {
            "id": self._message_id(),
            "type": "MESSAGE",
            "conversationsThreadId": thread.id,
            "channelId": thread.channel_id,
            "channelAccountId": thread.channel_account_id,
            "direction": direction,
            "createdAt": iso(created_at),
            "updatedAt": iso(created_at),
            "createdBy": created_by,
            "client": client,
            "senders": senders,
            "recipients": recipients,
            "text": text,
            "attachments": attachments,
            "truncationStatus": "NOT_TRUNCATED",
            "archived": False,
        }
        if rich_text is not None:
            message["richText"] = rich_text
        if in_reply_to is not None:
            message["inReplyToId"] = in_reply_to
        return message

    def _message_id(self) -> str:
        return secrets.token_hex(16)

    def _store_message(self, thread: Thread, message: Json) -> None:
        thread.messages.append(message)
        self.state.messages[message["id"]] = (thread.id, message)

    def _rep_for_actor(self, actor_id: str) -> int | None:
        if not actor_id.startswith("A-"):
            return None
        user_id = actor_id[2:]
        return next((rep.user_id for rep in self.config.reps if str(rep.user_id) == user_id), None)

    def actor_name(self, actor_id: str) -> str:
        """The display name of an actor."""
        for rep in self.config.reps:
            if actor_id == f"A-{rep.user_id}":
                return f"{rep.first_name} {rep.last_name}"
        for thread in self.state.threads.values():
            if actor_id == f"V-{thread.associated_contact_id}":
                return str(thread.visitor.get("name") or "")
        return ""

    def actor(self, actor_id: str) -> Json:
        """PublicActor for a rep or a visitor, or 404."""
        for rep in self.config.reps:
            if actor_id == f"A-{rep.user_id}":
                return {"id": actor_id, "type": "AGENT", "name": f"{rep.first_name} {rep.last_name}",
                        "email": rep.email}
        for thread in self.state.threads.values():
            if actor_id == f"V-{thread.associated_contact_id}":
                identifier = thread.visitor.get("deliveryIdentifier") or {}
                body: Json = {"id": actor_id, "type": "VISITOR", "name": thread.visitor.get("name") or ""}
                if identifier.get("type") == "HS_EMAIL_ADDRESS":
                    body["email"] = identifier.get("value")
                return body
        raise errors.not_found(f"Actor {actor_id} not found")

    # App webhooks -----------------------------------------------------------------------------------------------

    def _app_event(self, subscription_type: str, object_id: str, source: ChangeSource, **extra: str) -> None:
        settings = self.state.webhook_settings
        if settings is None or not self.state.installed:
            return
        property_name = extra.get("propertyName")
        events: list[Json] = []
        for subscription in self.state.subscriptions.values():
            if not subscription.active or subscription.event_type != subscription_type:
                continue
            if subscription.property_name is not None and subscription.property_name != property_name:
                continue
            events.append(
                {
                    "eventId": int(self.state.next_id("event", 100_000_001)),
                    "subscriptionId": int(subscription.id),
                    "portalId": self.config.portal_id,
                    "appId": self.config.app_id,
                    "occurredAt": self.now_ms(),
                    "subscriptionType": subscription_type,
                    "attemptNumber": 0,
                    "objectId": int(object_id),
                    "changeSource": source,
                    **extra,
                }
            )
        if events:
            self.webhooks.send_app_events(settings.target_url, events)

    # CRM --------------------------------------------------------------------------------------------------------

    def contact_by_email(self, email: str) -> CrmObject | None:
        """The contact with this email, case-insensitively."""
        wanted = email.lower()
        return next(
            (c for c in self.state.contacts.values() if (c.properties.get("email") or "").lower() == wanted), None
        )

    def create_contact(self, properties: dict[str, str | None]) -> CrmObject:
        """Create a contact; an email already on file is HubSpot's documented 409."""
        email = properties.get("email")
        if email:
            if not EMAIL_RE.match(email):
                raise errors.invalid_properties(
                    [{"isValid": False, "message": f"Email address {email} is invalid", "error": "INVALID_EMAIL",
                      "name": "email"}]
                )
            existing = self.contact_by_email(email)
            if existing is not None:
                raise errors.conflict(f"Contact already exists. Existing ID: {existing.id}")
            properties = {**properties, "email": email.lower()}
        now = self.now()
        contact = CrmObject(self.state.next_id("contact", 551), dict(properties), now, now)
        contact.properties.setdefault("createdate", iso(now))
        self.state.contacts[contact.id] = contact
        self._app_event("contact.creation", contact.id, "API")
        return contact

    def contact(self, contact_id: str, id_property: str | None = None) -> CrmObject:
        """A contact by id, or by email with idProperty=email; 404 otherwise."""
        if id_property == "email":
            found = self.contact_by_email(contact_id)
        elif id_property in {None, "hs_object_id"}:
            found = self.state.contacts.get(contact_id)
        else:
            raise errors.validation(f"Unsupported idProperty {id_property}")
        if found is None:
            raise errors.not_found()
        return found

    def search_contacts(self, filter_groups: list[Json]) -> list[CrmObject]:
        """Contacts matching any filter group (all filters of a group must hold)."""
        return [
            c
            for c in self.state.contacts.values()
            if not filter_groups or any(_group_matches(c, group) for group in filter_groups)
        ]

    def pipeline_stage_ids(self, pipeline_id: str) -> set[str] | None:
        """The stage ids of a ticket pipeline, or None when it does not exist."""
        if pipeline_id != "0":
            return None
        return {stage_id for stage_id, _, _ in DEFAULT_PIPELINE_STAGES}

    def create_ticket(self, properties: dict[str, str | None], associations: list[Json]) -> CrmObject:
        """Create a ticket in a pipeline stage, with inline associations."""
        missing = [name for name in ("subject", "hs_pipeline_stage") if not properties.get(name)]
        if missing:
            raise errors.validation(
                f"Missing required properties: {', '.join(missing)}",
                [{"message": f"{name} is required", "code": "REQUIRED_PROPERTY", "context": {"propertyName": [name]}}
                 for name in missing],
            )
        pipeline = properties.get("hs_pipeline") or "0"
        stages = self.pipeline_stage_ids(pipeline)
        if stages is None:
            raise errors.invalid_properties(
                [{"isValid": False, "message": f"{pipeline} is not a valid pipeline ID", "error": "INVALID_OPTION",
                  "name": "hs_pipeline"}]
            )
        if properties["hs_pipeline_stage"] not in stages:
            raise errors.invalid_properties(
                [{"isValid": False, "message": f"{properties['hs_pipeline_stage']} is not a valid pipeline stage ID",
                  "error": "INVALID_OPTION", "name": "hs_pipeline_stage"}]
            )
        targets = [self._association_target(a) for a in associations]
        now = self.now()
        ticket = CrmObject(self.state.next_id("ticket", 3_001), {**properties, "hs_pipeline": pipeline}, now, now)
        ticket.properties.setdefault("createdate", iso(now))
        self.state.tickets[ticket.id] = ticket
        for object_type, object_id in targets:
            self._link_ticket(ticket, object_type, object_id)
        self._app_event("ticket.creation", ticket.id, "API")
        return ticket

    def _association_target(self, association: Json) -> tuple[str, str]:
        to_id = str((association.get("to") or {}).get("id", ""))
        types = association.get("types") or []
        if not types:
            raise errors.validation("Each association needs at least one type")
        type_id = types[0].get("associationTypeId")
        object_type = ASSOCIATION_TARGETS.get(type_id) if isinstance(type_id, int) else None
        if object_type is None:
            raise errors.validation(f"associationTypeId {type_id} is not valid for tickets")
        self._require_object(object_type, to_id)
        return object_type, to_id

    def _require_object(self, object_type: str, object_id: str) -> None:
        exists = {
            "contacts": object_id in self.state.contacts,
            "tickets": object_id in self.state.tickets,
            "conversations": object_id in self.state.threads,
        }[object_type]
        if not exists:
            raise errors.validation(f"{object_type} {object_id} does not exist")

    def _link_ticket(self, ticket: CrmObject, object_type: str, object_id: str) -> None:
        ticket.associations.setdefault(object_type, set()).add(object_id)
        if object_type == "conversations":
            self.state.threads[object_id].ticket_id = ticket.id
        elif object_type == "contacts":
            self.state.contacts[object_id].associations.setdefault("tickets", set()).add(ticket.id)

    def ticket(self, ticket_id: str) -> CrmObject:
        """A ticket, or 404."""
        found = self.state.tickets.get(ticket_id)
        if found is None:
            raise errors.not_found()
        return found

    def update_ticket(self, ticket_id: str, properties: dict[str, str | None]) -> CrmObject:
        """Change ticket properties."""
        ticket = self.ticket(ticket_id)
        stage = properties.get("hs_pipeline_stage")
        stages = self.pipeline_stage_ids(str(ticket.properties.get("hs_pipeline") or "0")) or set()
        if stage is not None and stage not in stages:
            raise errors.invalid_properties(
                [{"isValid": False, "message": f"{stage} is not a valid pipeline stage ID", "error": "INVALID_OPTION",
                  "name": "hs_pipeline_stage"}]
            )
        changed = {k: v for k, v in properties.items() if ticket.properties.get(k) != v}
        ticket.properties.update(properties)
        ticket.updated_at = self.now()
        for name, value in changed.items():
            self._app_event("ticket.propertyChange", ticket.id, "API", propertyName=name, propertyValue=value or "")
        return ticket

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> Json:
        """Associate a ticket with a contact or a thread (either direction); v4 association result."""
        source, target = _object_type(from_type), _object_type(to_type)
        pair = {source, target}
        if "tickets" not in pair or pair == {"tickets"}:
            raise errors.validation(f"The sandbox associates tickets with contacts or conversations, not {pair}")
        ticket_id, other_type, other_id = (
            (from_id, target, to_id) if source == "tickets" else (to_id, source, from_id)
        )
        ticket = self.ticket(ticket_id)
        self._require_object(other_type, other_id)
        self._link_ticket(ticket, other_type, other_id)
        return {
            "fromObjectTypeId": OBJECT_TYPE_IDS[source],
            "fromObjectId": int(from_id),
            "toObjectTypeId": OBJECT_TYPE_IDS[target],
            "toObjectId": int(to_id),
            "labels": [],
        }

    def owners(self, email: str | None = None) -> list[Json]:
        """CRM owners (the reps), optionally filtered by email."""
        stamp = iso(SEED_TIME)
        return [
            {
                "id": rep.owner_id,
                "email": rep.email,
                "type": "PERSON",
                "firstName": rep.first_name,
                "lastName": rep.last_name,
                "userId": rep.user_id,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "teams": [],
            }
            for rep in self.config.reps
            if email is None or rep.email.lower() == email.lower()
        ]

    def ticket_pipelines(self) -> list[Json]:
        """The ticket pipelines of the portal: HubSpot's default support pipeline."""
        stamp = iso(SEED_TIME)
        stages = [
            {
                "id": stage_id,
                "label": label,
                "displayOrder": order,
                "metadata": {"ticketState": state, "isClosed": str(state == "CLOSED").lower()},
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
            }
            for order, (stage_id, label, state) in enumerate(DEFAULT_PIPELINE_STAGES)
        ]
        return [{"id": "0", "label": "Support Pipeline", "displayOrder": 0, "stages": stages, "createdAt": stamp,
                 "updatedAt": stamp, "archived": False}]

    # Files ------------------------------------------------------------------------------------------------------

    def store_file(self, *, name: str, content_type: str, content: bytes, access: str, folder_path: str | None,
                   folder_id: str | None) -> StoredFile:
        """Keep an uploaded file in a folder given by path or id."""
        if folder_id is not None:
            path = next((p for p, i in self.state.folders.items() if i == folder_id), None)
            if path is None:
                raise errors.validation(f"Folder {folder_id} does not exist")
        else:
            path = "/" + (folder_path or "").strip("/")
            if path not in self.state.folders:
                self.state.folders[path] = self.state.next_id("folder", 160_000_001)
        base, dot, extension = name.rpartition(".")
        stem = base if dot else name
        stored = StoredFile(
            id=self.state.next_id("file", 180_000_000_001),
            name=stem,
            extension=extension.lower() if dot else "",
            content_type=content_type,
            content=content,
            access=access,
            path=f"{path.rstrip('/')}/{name}",
            parent_folder_id=self.state.folders[path],
            created_at=self.now(),
        )
        self.state.files[stored.id] = stored
        return stored

    def stored_file(self, file_id: str) -> StoredFile:
        """A stored file, or 404."""
        found = self.state.files.get(file_id)
        if found is None:
            raise errors.not_found(f"File {file_id} not found")
        return found

    def file_json(self, stored: StoredFile) -> Json:
        """The File object of the files API."""
        stamp = iso(stored.created_at)
        return {
            "id": stored.id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "parentFolderId": stored.parent_folder_id,
            "name": stored.name,
            "path": stored.path,
            "size": len(stored.content),
            "type": _file_category(stored.content_type),
            "extension": stored.extension,
            "access": stored.access,
            "isUsableInContent": True,
            "url": self.file_url(stored.id),
            "defaultHostingUrl": self.file_url(stored.id),
        }

    def file_signature(self, file_id: str, expires_at: int) -> str:
        """The signature of a time-limited download link."""
        message = f"{file_id}:{expires_at}".encode()
        return hmac.new(self.config.client_secret.encode(), message, hashlib.sha256).hexdigest()

    def signed_file_url(self, file_id: str, ttl_seconds: int = 3600) -> Json:
        """A time-limited download URL for a file, with its metadata."""
        stored = self.stored_file(file_id)
        expires_at = self.now_ms() + ttl_seconds * 1000
        query = urlencode({"expiresAt": expires_at, "signature": self.file_signature(file_id, expires_at)})
        return {
            "url": f"{self.file_url(file_id)}?{query}",
            "expiresAt": iso(datetime.fromtimestamp(expires_at / 1000, UTC)),
            "name": stored.name,
            "extension": stored.extension,
            "type": _file_category(stored.content_type),
            "size": len(stored.content),
        }

    def file_url(self, file_id: str) -> str:
        """Where a stored file can be fetched."""
        return f"{self.config.public_base_url}/_sandbox/files/{file_id}"

    # App webhook settings ---------------------------------------------------------------------------------------

    def put_webhook_settings(self, target_url: str, max_concurrent_requests: int) -> WebhookSettings:
        """Set where the app's webhook events go."""
        now = self.now()
        current = self.state.webhook_settings
        self.state.webhook_settings = WebhookSettings(
            target_url, max_concurrent_requests, current.created_at if current else now, now
        )
        return self.state.webhook_settings

    def subscribe(self, event_type: str, property_name: str | None, active: bool) -> Subscription:
        """Subscribe the app to an event type."""
        if event_type not in SUBSCRIPTION_TYPES:
            raise errors.validation(f"Unknown eventType {event_type}")
        if event_type.endswith(".propertyChange") and not property_name:
            raise errors.validation("propertyName is required for propertyChange subscriptions")
        now = self.now()
        subscription = Subscription(self.state.next_id("subscription", 1), event_type, property_name, active, now, now)
        self.state.subscriptions[subscription.id] = subscription
        return subscription

    def subscription(self, subscription_id: str) -> Subscription:
        """A subscription of the app, or 404."""
        found = self.state.subscriptions.get(subscription_id)
        if found is None:
            raise errors.not_found(f"Subscription {subscription_id} not found")
        return found


def _oauth_error(status: str, message: str) -> HubSpotError:
    """The v1 token endpoint's 400: the status field names the problem (BAD_AUTH_CODE, BAD_REFRESH_TOKEN…)."""
    return HubSpotError(400, {"status": status, "message": message, "correlationId": errors.correlation_id()})


def _object_type(name: str) -> str:
    found = OBJECT_TYPE_ALIASES.get(name.lower())
    if found is None:
        raise errors.validation(f"Unknown object type {name}")
    return found


def _group_matches(contact: CrmObject, group: Json) -> bool:
    for flt in group.get("filters") or []:
        value = contact.properties.get(str(flt.get("propertyName")))
        operator = flt.get("operator", "EQ")
        wanted = flt.get("value")
        if operator == "EQ":
            if (value or "").lower() != str(wanted or "").lower():
                return False
        elif operator == "NEQ":
            if (value or "").lower() == str(wanted or "").lower():
                return False
        elif operator == "HAS_PROPERTY":
            if not value:
                return False
        elif operator == "NOT_HAS_PROPERTY":
            if value:
                return False
        elif operator == "IN":
            if (value or "").lower() not in [str(v).lower() for v in flt.get("values") or []]:
                return False
        else:
            raise errors.validation(f"Unsupported filter operator {operator}")
    return True


def _file_category(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    if major == "image":
        return "IMG"
    if major in {"video", "audio"}:
        return "MOVIE" if major == "video" else "AUDIO"
    if content_type in {"application/pdf", "text/plain", "application/msword"} or content_type.startswith(
        "application/vnd.openxmlformats"
    ):
        return "DOCUMENT"
    return "OTHER"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise errors.validation(f"Invalid timestamp {value}") from exc


