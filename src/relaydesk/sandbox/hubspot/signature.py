"""HubSpot request signatures v1, v2 and v3, computed and verified as HubSpot documents them.

https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests and
https://developers.hubspot.com/changelog/introducing-version-3-of-webhook-signatures:
v3 is base64(HMAC-SHA256(client secret, method + uri + body + timestamp)) with the timestamp in
epoch milliseconds, rejected when older than five minutes; v1 is sha256hex(secret + body) and v2
sha256hex(secret + method + uri + body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

MAX_TIMESTAMP_AGE_MS = 300_000

# HubSpot decodes these escapes in the request URI before it signs it (documented table).
_URI_DECODES = (
    ("%3A", ":"),
    ("%2F", "/"),
    ("%3F", "?"),
    ("%40", "@"),
    ("%21", "!"),
    ("%24", "$"),
    ("%27", "'"),
    ("%28", "("),
    ("%29", ")"),
    ("%2A", "*"),
    ("%2C", ","),
    ("%3B", ";"),
)


def signed_uri(uri: str) -> str:
    """The URI as it enters a v3 signature, with HubSpot's documented escapes decoded."""
    for escaped, plain in _URI_DECODES:
        uri = uri.replace(escaped, plain).replace(escaped.lower(), plain)
    return uri


def signature_v1(client_secret: str, body: bytes) -> str:
    """The v1 X-HubSpot-Signature: hex SHA-256 of secret + body."""
    return hashlib.sha256(client_secret.encode() + body).hexdigest()


def signature_v2(client_secret: str, method: str, uri: str, body: bytes) -> str:
    """The v2 X-HubSpot-Signature: hex SHA-256 of secret + method + uri + body."""
    return hashlib.sha256(client_secret.encode() + method.upper().encode() + uri.encode() + body).hexdigest()


def signature_v3(client_secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | str) -> str:
    """The X-HubSpot-Signature-v3 value for one request."""
    source = method.upper().encode() + signed_uri(uri).encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(client_secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature_v3(
    client_secret: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp_ms: str,
    signature: str,
    now_ms: int | None = None,
) -> bool:
    """Whether a v3 signature is valid and its timestamp no older than five minutes."""
    try:
        stamp = int(timestamp_ms)
    except ValueError:
        return False
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if now - stamp > MAX_TIMESTAMP_AGE_MS:
        return False
    expected = signature_v3(client_secret, method, uri, body, timestamp_ms)
    return hmac.compare_digest(expected, signature)
