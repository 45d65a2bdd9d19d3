"""A small typed async client for the Messaging for In-App and Web (MIAW) REST API relaydesk uses.

Paths and bodies follow https://developer.salesforce.com/docs/service/messaging-api/references and the official
sample client (Salesforce-Async-Messaging/messaging-web-api-sample-app). Every call after the token call carries the
conversation's bearer access token. Token calls are limited to 200 per minute per org
(https://help.salesforce.com/apex/HTViewHelpDoc?id=service.miaw_rate_limits.htm), so they wait for a slot first.
Errors come back as MiawError with the status and Salesforce's `message`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt

from relaydesk.connectors.ratelimit import Limits, RollingLimit
from relaydesk.core.http_delivery import parse_retry_after

Json = dict[str, Any]
API = "/iamessage/api/v2"
LIMITS = Limits(lambda: {"token": RollingLimit(190, 60.0)})


class MiawError(Exception):
    """A MIAW answer other than 2xx, or no answer at all (`status` 0)."""

    def __init__(self, what: str, status: int, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{what}: Salesforce answered {status}: {message}" if status else f"{what}: {message}")
        self.what = what
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.status in (0, 408, 429) or self.status >= 500


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A MIAW access token, the subject it speaks for, when it expires, and the stream position it was issued at."""

    token: str
    subject: str
    expires_at: float
    last_event_id: str

    @property
    def authenticated(self) -> bool:
        return "/AUTH/" in self.subject

    def expiring(self, margin_s: float) -> bool:
        return time.time() > self.expires_at - margin_s

    def dumps(self) -> str:
        return json.dumps({"token": self.token, "subject": self.subject, "expires_at": self.expires_at,
                           "last_event_id": self.last_event_id})

    @classmethod
    def loads(cls, text: str) -> AccessToken:
        data = json.loads(text)
        return cls(str(data["token"]), str(data["subject"]), float(data["expires_at"]), str(data["last_event_id"]))

    @classmethod
    def of(cls, body: Json) -> AccessToken:
        """From a token answer; the lifetime is the JWT's own `exp` (read, not verified: it is Salesforce's)."""
        token = str(body["accessToken"])
        try:
            expires = float(jwt.decode(token, options={"verify_signature": False}).get("exp") or 0)
        except jwt.PyJWTError:
            expires = 0.0
        subject = str(((body.get("context") or {}).get("endUser") or {}).get("subject") or "")
        return cls(token, subject, expires or time.time() + 3600, str(body.get("lastEventId") or "0"))


class MiawClient:
    """The MIAW API of one deployment, as relaydesk calls it."""

    def __init__(self, http: httpx2.AsyncClient, scrt_url: str, org_id: str, es_developer_name: str) -> None:
        self.http = http
        self.base_url = scrt_url.rstrip("/")
        self.org_id = org_id
        self.es_developer_name = es_developer_name
        self.limits = LIMITS.of(f"{self.base_url}|{org_id}")

    async def _send(self, method: str, path: str, what: str, *, token: str | None = None, **options: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self.http.request(method, f"{self.base_url}{path}", headers=headers, **options)
        except httpx2.HTTPError as exc:
            raise MiawError(what, 0, f"no answer from Salesforce at {self.base_url} "
                                     f"({type(exc).__name__}: {exc})") from exc
        if response.is_success:
            return response.json() if response.content else {}
        try:
            body = response.json()
            message = str(body.get("message") or body) if isinstance(body, dict) else str(body)
        except ValueError:
            message = response.text[:300] or response.reason_phrase
        raise MiawError(what, response.status_code, message,
                        retry_after_s=parse_retry_after(response.headers.get("retry-after")))

    def _deployment(self) -> Json:
        return {"orgId": self.org_id, "esDeveloperName": self.es_developer_name, "capabilitiesVersion": "1",
                "platform": "Web", "context": {"appName": "relaydesk", "clientVersion": "1"}}

    # authorization -----------------------------------------------------------------------------------------------

    async def unauthenticated_token(self) -> AccessToken:
        """POST authorization/unauthenticated/access-token: a token for an anonymous visitor."""
        await self.limits["token"].acquire("request an access token")
        body = await self._send("POST", f"{API}/authorization/unauthenticated/access-token",
                                "request an anonymous access token", json=self._deployment())
        return AccessToken.of(body)

    async def authenticated_token(self, identity_token: str) -> AccessToken:
        """POST authorization/authenticated/access-token with the customer identity JWT (User Verification)."""
        await self.limits["token"].acquire("request an access token")
        body = await self._send("POST", f"{API}/authorization/authenticated/access-token",
                                "request a verified access token",
                                json={**self._deployment(), "authorizationType": "JWT",
                                      "customerIdentityToken": identity_token})
        return AccessToken.of(body)

    async def continuation_token(self, current: AccessToken) -> AccessToken:
        """GET authorization/continuation-access-token: a new token for the same subject."""
        await self.limits["token"].acquire("renew the access token")
        body = await self._send("GET", f"{API}/authorization/continuation-access-token", "renew the access token",
                                token=current.token)
        renewed = AccessToken.of(body)
        return AccessToken(renewed.token, renewed.subject or current.subject, renewed.expires_at,
                           renewed.last_event_id)

    # conversations -----------------------------------------------------------------------------------------------

    async def list_conversations(self, token: str) -> list[Json]:
        body = await self._send("GET", f"{API}/conversation/list", "list conversations", token=token,
                                params={"inclClosedConvs": "true", "limit": 50})
        return list(body.get("conversations") or [])

    async def create_conversation(self, token: str, conversation_id: str, routing_attributes: dict[str, str],
                                  language: str | None) -> None:
        payload: Json = {"conversationId": conversation_id, "esDeveloperName": self.es_developer_name,
                         "routingAttributes": routing_attributes}
        if language:
            payload["language"] = language
        await self._send("POST", f"{API}/conversation", "create the conversation", token=token, json=payload)

    async def send_message(self, token: str, conversation_id: str, message_id: str, text: str) -> None:
        message = {"id": message_id, "messageType": "StaticContentMessage",
                   "staticContent": {"formatType": "Text", "text": text}}
        await self._send("POST", f"{API}/conversation/{conversation_id}/message", "send a message", token=token,
                         json={"message": message, "esDeveloperName": self.es_developer_name})

    async def send_file(self, token: str, conversation_id: str, message_id: str, file_id: str, caption: str,
                        file: tuple[str, bytes, str]) -> None:
        """POST conversation/{id}/file as multipart: `messageEntry` JSON and the `fileData` part."""
        entry = {"message": {"id": message_id, "fileId": file_id, "text": caption},
                 "esDeveloperName": self.es_developer_name}
        await self._send("POST", f"{API}/conversation/{conversation_id}/file", "send a file", token=token,
                         files={"messageEntry": (None, json.dumps(entry), "application/json"), "fileData": file})

    async def entries(self, token: str, conversation_id: str, *, limit: int = 50, direction: str = "FromEnd",
                      types: str | None = None) -> list[Json]:
        params: Json = {"limit": limit, "direction": direction}
        if types:
            params["entryTypeFilter"] = types
        body = await self._send("GET", f"{API}/conversation/{conversation_id}/entries", "list conversation entries",
                                token=token, params=params)
        return list(body.get("conversationEntries") or [])

    async def acknowledge(self, token: str, conversation_id: str, ack_id: str, entry_id: str) -> None:
        await self._send("POST", f"{API}/conversation/{conversation_id}/acknowledge-entries", "acknowledge delivery",
                         token=token, json={"acks": [{"id": ack_id, "entryType": "Delivery",
                                                      "conversationEntryId": entry_id}]})

    async def end_session(self, token: str, conversation_id: str) -> None:
        await self._send("DELETE", f"{API}/conversation/{conversation_id}/session", "end the messaging session",
                         token=token, params={"esDeveloperName": self.es_developer_name})

    async def close_conversation(self, token: str, conversation_id: str) -> None:
        await self._send("DELETE", f"{API}/conversation/{conversation_id}", "close the conversation", token=token,
                         params={"esDeveloperName": self.es_developer_name})

    def stream_request(self, token: AccessToken, last_event_id: str) -> httpx2.Request:
        """GET /eventrouter/v1/sse for the token's subject, resuming after `last_event_id`."""
        return self.http.build_request("GET", f"{self.base_url}/eventrouter/v1/sse", headers={
            "Accept": "text/event-stream", "Authorization": f"Bearer {token.token}",
            "X-Org-Id": self.org_id[:15], "Last-Event-Id": last_event_id,
        })
