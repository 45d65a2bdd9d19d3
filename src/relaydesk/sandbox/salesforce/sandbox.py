"""The Salesforce org behind the sandbox: MIAW access tokens, conversations routed by Omni-Channel, their entries,
the server-sent event stream of each end user, and what a rep does in the console.

Facts follow the Messaging for In-App and Web API reference
(https://developer.salesforce.com/docs/service/messaging-api/references) and the official sample client
(Salesforce-Async-Messaging/messaging-web-api-sample-app); the routes in `app.py` cite the page of each endpoint.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from relaydesk.sandbox.faults import FaultPlan, RateLimiter, RateLimitRule
from relaydesk.sandbox.salesforce.config import SalesforceConfig

Json = dict[str, Any]
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EVENT_OF_ENTRY = {
    "Message": "CONVERSATION_MESSAGE",
    "ParticipantChanged": "CONVERSATION_PARTICIPANT_CHANGED",
    "RoutingResult": "CONVERSATION_ROUTING_RESULT",
    "SessionStatusChanged": "CONVERSATION_SESSION_STATUS_CHANGED",
    "TypingStartedIndicator": "CONVERSATION_TYPING_STARTED_INDICATOR",
    "TypingStoppedIndicator": "CONVERSATION_TYPING_STOPPED_INDICATOR",
    "CloseConversation": "CONVERSATION_CLOSE_CONVERSATION",
    "DeliveryAcknowledgement": "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT",
}
TRANSIENT = ("TypingStartedIndicator", "TypingStoppedIndicator")  # streamed, never kept as entries


class MiawError(Exception):
    """An API answer other than 2xx, with the `message` body the sample client reads."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _record_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)[:15].upper()


@dataclass
class EndUser:
    """A MessagingEndUser: the subject a token speaks for."""

    subject: str
    record_id: str
    verified: bool


@dataclass
class Entry:
    """One conversation entry as the entries API lists it (its payload an object, not a string)."""

    identifier: str
    entry_type: str
    role: str
    subject: str
    display_name: str
    payload: Json
    timestamp: int

    def view(self) -> Json:
        return {"identifier": self.identifier, "entryType": self.entry_type,
                "sender": {"role": self.role, "appType": "agent" if self.role == "Agent" else "iamessage",
                           "subject": self.subject},
                "senderDisplayName": self.display_name, "entryPayload": self.payload,
                "transcriptedTimestamp": self.timestamp, "clientTimestamp": self.timestamp}

    @property
    def text(self) -> str:
        content = (self.payload.get("abstractMessage") or {}).get("staticContent") or {}
        return str(content.get("text") or "")


@dataclass
class Conversation:
    """A conversation and its current MessagingSession, routed by Omni-Channel."""

    id: str
    subject: str
    routing_attributes: Json
    language: str | None
    session_id: str
    session_status: str = "Waiting"
    ended_by: str | None = None
    agent_joined: bool = False
    closed: bool = False
    entries: list[Entry] = field(default_factory=list)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    acks: list[Json] = field(default_factory=list)

    def messages(self, role: str | None = None) -> list[Entry]:
        return [e for e in self.entries if e.entry_type == "Message" and (role is None or e.role == role)]


@dataclass
class Event:
    """One server-sent event for an end user's stream."""

    id: int
    subject: str
    name: str
    data: Json


class SalesforceSandbox:
    """The emulated org: state, the documented behaviour of each call, and the rep's side."""

    def __init__(self, config: SalesforceConfig | None = None) -> None:
        self.config = config or SalesforceConfig()
        self.faults = FaultPlan(error_body=lambda status: {"message": f"Injected fault: HTTP {status}"})
        self.limiter = RateLimiter()
        self.token_secret = secrets.token_urlsafe(32)
        self.end_users: dict[str, EndUser] = {}
        self.conversations: dict[str, Conversation] = {}
        self.events: list[Event] = []
        self._streams: dict[str, set[asyncio.Queue[Event | None]]] = {}
        self.stream_connects: list[Json] = []  # every SSE connection made, with its Last-Event-Id

    # tokens ------------------------------------------------------------------------------------------------------

    def _limit(self, bucket: str) -> None:
        rule = RateLimitRule(bucket, self.config.token_requests_per_minute, 60.0)
        decision = self.limiter.hit(f"{self.config.org_id}:{bucket}", [rule])[0]
        if not decision.allowed:
            raise MiawError(429, f"Rate limit exceeded for {bucket} requests.",
                            {"Retry-After": decision.retry_after_header})

    def _check_deployment(self, body: Json) -> None:
        org_id = str(body.get("orgId") or "")
        if org_id[:15] != self.config.org_id_15 or len(org_id) not in (15, 18):
            raise MiawError(400, f"The orgId {org_id!r} is not valid for this Messaging endpoint.")
        self.check_es_name(body.get("esDeveloperName"))

    def check_es_name(self, name: Any) -> None:
        if name != self.config.es_developer_name:
            raise MiawError(400, f"No published Embedded Service Deployment named {name!r} was found.")

    def _issue(self, user: EndUser) -> Json:
        now = int(time.time())
        claims = {"sub": user.subject, "clientId": str(uuid.uuid4()), "orgId": self.config.org_id,
                  "iat": now, "exp": now + self.config.access_token_ttl_s}
        token = jwt.encode(claims, self.token_secret, algorithm="HS256")
        return {"accessToken": token, "lastEventId": str(len(self.events)),
                "context": {"endUser": {"subject": user.subject, "id": user.record_id},
                            "deviceId": claims["clientId"]}}

    def unauthenticated_token(self, body: Json) -> Json:
        self._limit("access-token")
        self._check_deployment(body)
        subject = f"v2/iamessage/UNAUTH/NA/uid:{uuid.uuid4()}"
        user = self.end_users[subject] = EndUser(subject, _record_id("0PA"), verified=False)
        return self._issue(user)

    def authenticated_token(self, body: Json) -> Json:
        self._limit("access-token")
        self._check_deployment(body)
        if body.get("authorizationType") != "JWT":
            raise MiawError(400, "authorizationType must be JWT.")
        sub = self._verify_identity(str(body.get("customerIdentityToken") or ""))
        subject = f"v2/iamessage/AUTH/{self.config.keyset.name}/uid:{sub}"
        user = self.end_users.setdefault(subject, EndUser(subject, _record_id("0PA"), verified=True))
        return self._issue(user)

    def _verify_identity(self, token: str) -> str:
        """User Verification: an RS256/RS512 JWT whose `kid` names a key of the keyset, with sub, iss and exp."""
        keyset = self.config.keyset
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise MiawError(401, f"The customer identity token is not a JWT: {exc}") from exc
        if header.get("alg") not in ("RS256", "RS512"):
            raise MiawError(401, "The customer identity token must be signed with RS256 or RS512.")
        public_key = keyset.keys.get(str(header.get("kid") or ""))
        if public_key is None:
            raise MiawError(401, f"No key with kid {header.get('kid')!r} is registered in the keyset.")
        try:
            claims = jwt.decode(token, public_key, algorithms=["RS256", "RS512"], issuer=keyset.issuer,
                                audience=keyset.audience, options={"require": ["sub", "iss", "exp"],
                                                                   "verify_aud": keyset.audience is not None})
        except jwt.InvalidSignatureError as exc:
            raise MiawError(401, "The customer identity token signature could not be verified with the public "
                                 f"key registered for kid {header.get('kid')!r}.") from exc
        except jwt.InvalidIssuerError as exc:
            raise MiawError(401, f"The customer identity token issuer must be {keyset.issuer!r}.") from exc
        except jwt.PyJWTError as exc:
            raise MiawError(401, f"The customer identity token is invalid: {exc}") from exc
        if int(claims["exp"]) - time.time() > self.config.max_identity_token_ttl_s:
            raise MiawError(401, "The customer identity token expires too far in the future.")
        return str(claims["sub"])

    def end_user(self, authorization: str | None) -> EndUser:
        """The end user a bearer access token speaks for; 401 for a missing, forged or expired token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise MiawError(401, "Missing bearer access token.")
        try:
            claims = jwt.decode(token, self.token_secret, algorithms=["HS256"])
        except jwt.ExpiredSignatureError as exc:
            raise MiawError(401, "The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise MiawError(401, "The access token is not valid.") from exc
        user = self.end_users.get(str(claims.get("sub")))
        if user is None:
            raise MiawError(401, "The access token is not valid.")
        return user

    def continuation_token(self, user: EndUser) -> Json:
        self._limit("renew-token")
        return self._issue(user)

    # conversations -----------------------------------------------------------------------------------------------

    def conversation(self, user: EndUser, conversation_id: str) -> Conversation:
        found = self.conversations.get(conversation_id)
        if found is None or found.subject != user.subject:
            raise MiawError(404, f"Conversation {conversation_id} was not found for this end user.")
        return found

    def create_conversation(self, user: EndUser, body: Json) -> Conversation:
        conversation_id = str(body.get("conversationId") or "")
        if not UUID_V4.match(conversation_id):
            raise MiawError(400, "Specify the conversationId in UUID format.")
        self.check_es_name(body.get("esDeveloperName"))
        if conversation_id in self.conversations:
            raise MiawError(409, f"A conversation with ID {conversation_id} already exists.")
        attributes = body.get("routingAttributes") or {}
        if not isinstance(attributes, dict):
            raise MiawError(400, "routingAttributes must be an object.")
        conversation = Conversation(conversation_id, user.subject, {str(k): str(v) for k, v in attributes.items()},
                                    body.get("language"), _record_id("0Mw"))
        self.conversations[conversation_id] = conversation
        self._route(conversation)
        return conversation

    def _route(self, conversation: Conversation) -> None:
        """Omni-Channel takes the new session: routing result, then the session waits for a rep."""
        self._entry(conversation, "RoutingResult", "Router", "", "Omni-Channel", {
            "entryType": "RoutingResult", "routingType": "Initial", "failureType": "None",
            "recordId": conversation.session_id,
            "estimatedWaitTime": {"isEWTRequested": False, "estimatedWaitTimeInSeconds": -1},
        })
        self._status(conversation, "Waiting", None)

    def _status(self, conversation: Conversation, status: str, ended_by: str | None) -> None:
        conversation.session_status, conversation.ended_by = status, ended_by
        payload: Json = {"entryType": "SessionStatusChanged", "sessionStatus": status}
        if ended_by:
            payload["sessionEndedByRole"] = ended_by
        self._entry(conversation, "SessionStatusChanged", "System", "", "System", payload)

    def _open(self, conversation: Conversation, body: Json) -> None:
        if conversation.closed:
            raise MiawError(409, f"Conversation {conversation.id} is closed.")
        self.check_es_name(body.get("esDeveloperName"))
        if conversation.session_status == "Ended":
            # A message after the session ended starts a new messaging session, routed again.
            conversation.session_id, conversation.agent_joined = _record_id("0Mw"), False
            conversation.routing_attributes.update(body.get("routingAttributes") or {})
            self._route(conversation)

    def send_message(self, user: EndUser, conversation: Conversation, body: Json) -> Entry:
        message = body.get("message") or {}
        content = message.get("staticContent") or {}
        text = content.get("text")
        if not message.get("id") or message.get("messageType") != "StaticContentMessage" or not isinstance(text, str):
            raise MiawError(400, "message.id, messageType StaticContentMessage and staticContent.text are required.")
        if len(text) > self.config.max_text_chars:
            raise MiawError(400, f"The message text exceeds {self.config.max_text_chars} characters.")
        self._open(conversation, body)
        return self._entry(conversation, "Message", "EndUser", user.subject, "Guest", {
            "entryType": "Message", "id": str(message["id"]),
            "abstractMessage": {"messageType": "StaticContentMessage", "id": str(message["id"]),
                                "staticContent": {"formatType": "Text", "text": text}},
        })

    def send_file(self, user: EndUser, conversation: Conversation, body: Json, name: str, mime: str,
                  content: bytes) -> Entry:
        message = body.get("message") or {}
        if not message.get("id") or not message.get("fileId"):
            raise MiawError(400, "messageEntry.message.id and message.fileId are required.")
        if len(content) > self.config.max_file_bytes:
            raise MiawError(413, f"The file exceeds the maximum size of {self.config.max_file_bytes} bytes.")
        self._open(conversation, body)
        file_id = str(message["fileId"])
        conversation.files[file_id] = (name, mime, content)
        attachment = {"id": file_id, "name": name, "mimeType": mime, "url": f"/files/{conversation.id}/{file_id}",
                      "attachmentUploadResult": "Success"}
        return self._entry(conversation, "Message", "EndUser", user.subject, "Guest", {
            "entryType": "Message", "id": str(message["id"]),
            "abstractMessage": {"messageType": "StaticContentMessage", "id": str(message["id"]),
                                "staticContent": {"formatType": "Attachments", "attachments": [attachment],
                                                  "text": str(message.get("text") or "")}},
        })

    def end_session(self, conversation: Conversation, by: str) -> None:
        if conversation.session_status != "Ended":
            self._status(conversation, "Ended", by)

    def close_conversation(self, conversation: Conversation) -> None:
        if conversation.closed:
            return
        self.end_session(conversation, "EndUser")
        conversation.closed = True
        self._entry(conversation, "CloseConversation", "EndUser", conversation.subject, "Guest",
                    {"entryType": "CloseConversation"})

    def list_conversations(self, user: EndUser, include_closed: bool, limit: int) -> Json:
        mine = [c for c in self.conversations.values() if c.subject == user.subject]
        shown = [c for c in mine if include_closed or not c.closed][:limit]
        return {"openConversationsFound": sum(1 for c in mine if not c.closed),
                "closedConversationsFound": sum(1 for c in mine if c.closed),
                "conversations": [{"conversationId": c.id, "esDeveloperName": self.config.es_developer_name,
                                   "isClosed": c.closed, "routingAttributes": c.routing_attributes}
                                  for c in shown]}

    def entries(self, conversation: Conversation, *, limit: int, direction: str, types: list[str] | None,
                start: int | None, end: int | None) -> list[Json]:
        found = [e for e in conversation.entries if (types is None or e.entry_type in types)
                 and (start is None or e.timestamp >= start) and (end is None or e.timestamp <= end)]
        chosen = found[-limit:] if direction == "FromEnd" else found[:limit]
        return [e.view() for e in chosen]

    # the rep console ---------------------------------------------------------------------------------------------

    def accept(self, conversation_id: str) -> None:
        """A rep accepts the work from Omni-Channel: the agent joins and the session becomes active."""
        conversation = self.conversations[conversation_id]
        if conversation.agent_joined:
            return
        conversation.agent_joined = True
        config = self.config
        self._entry(conversation, "ParticipantChanged", "System", "", "System", {
            "entryType": "ParticipantChanged", "entries": [{"operation": "add", "displayName": config.agent_name,
                                                            "participant": {"role": "Agent", "appType": "agent",
                                                                            "subject": config.agent_id}}]})
        self._status(conversation, "Active", None)

    def rep_message(self, conversation_id: str, text: str) -> Entry:
        """A rep's reply typed in the console (accepting the work first when it is still waiting)."""
        self.accept(conversation_id)
        conversation = self.conversations[conversation_id]
        message_id = str(uuid.uuid4())
        return self._entry(conversation, "Message", "Agent", self.config.agent_id, self.config.agent_name, {
            "entryType": "Message", "id": message_id,
            "abstractMessage": {"messageType": "StaticContentMessage", "id": message_id,
                                "staticContent": {"formatType": "Text", "text": text}},
        })

    def rep_typing(self, conversation_id: str, started: bool = True) -> None:
        conversation = self.conversations[conversation_id]
        kind = "TypingStartedIndicator" if started else "TypingStoppedIndicator"
        self._entry(conversation, kind, "Agent", self.config.agent_id, self.config.agent_name, {"entryType": kind})

    def rep_end(self, conversation_id: str) -> None:
        """The rep ends the chat: the session ends, the conversation stays."""
        self.end_session(self.conversations[conversation_id], "Agent")

    def acknowledge(self, conversation: Conversation, acks: list[Json]) -> None:
        conversation.acks.extend(acks)

    # events ------------------------------------------------------------------------------------------------------

    def _entry(self, conversation: Conversation, kind: str, role: str, subject: str, name: str,
               payload: Json) -> Entry:
        entry = Entry(str(uuid.uuid4()), kind, role, subject, name, payload, _now_ms())
        if kind not in TRANSIENT:
            conversation.entries.append(entry)
        wire = {**entry.view(), "entryPayload": json.dumps(payload, separators=(",", ":"))}
        self._publish(conversation.subject, EVENT_OF_ENTRY[kind], {
            "channelPlatformKey": "", "channelType": "embedded_messaging",
            "channelAddressIdentifier": self.config.es_developer_name, "conversationId": conversation.id,
            "conversationEntry": wire,
        })
        return entry

    def _publish(self, subject: str, name: str, data: Json) -> None:
        event = Event(len(self.events) + 1, subject, name, data)
        self.events.append(event)
        for queue in self._streams.get(subject, ()):
            queue.put_nowait(event)

    def subscribe(self, user: EndUser, last_event_id: int) -> asyncio.Queue[Event | None]:
        """A stream for the end user: the events after `last_event_id`, then each new one as it happens."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        for event in self.events[last_event_id:]:
            if event.subject == user.subject:
                queue.put_nowait(event)
        self._streams.setdefault(user.subject, set()).add(queue)
        self.stream_connects.append({"subject": user.subject, "lastEventId": last_event_id})
        return queue

    def unsubscribe(self, user: EndUser, queue: asyncio.Queue[Event | None]) -> None:
        self._streams.get(user.subject, set()).discard(queue)

    def drop_streams(self) -> int:
        """Close every open event stream, as a network failure or a server restart would; returns how many."""
        dropped = 0
        for queues in self._streams.values():
            for queue in queues:
                queue.put_nowait(None)
                dropped += 1
        return dropped

    def open_streams(self) -> int:
        return sum(len(q) for q in self._streams.values())

    def latest_event(self, conversation_id: str) -> int:
        """The id of the newest event about a conversation (0 when none)."""
        return max((e.id for e in self.events if e.data.get("conversationId") == conversation_id), default=0)

    def find(self, attribute: str, value: str) -> Conversation | None:
        """The conversation whose routing attribute `attribute` is `value`."""
        return next((c for c in self.conversations.values() if c.routing_attributes.get(attribute) == value), None)
