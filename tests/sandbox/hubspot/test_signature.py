"""HubSpot request signatures against vectors computed here from the documented algorithm."""

from __future__ import annotations

import base64
import hashlib
import hmac

from relaydesk.sandbox.hubspot import signature_v1, signature_v2, signature_v3, verify_signature_v3

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URI = "https://www.example.com/webhook_uri"
BODY = b'{"example_field":"example_value"}'
TIMESTAMP = "1700000000000"


def test_v3_matches_a_hand_computed_hmac() -> None:
    source = b"POST" + URI.encode() + BODY + TIMESTAMP.encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), source, hashlib.sha256).digest()).decode()
    assert signature_v3(SECRET, "post", URI, BODY, TIMESTAMP) == expected
    assert verify_signature_v3(SECRET, "POST", URI, BODY, TIMESTAMP, expected, now_ms=1_700_000_100_000)


def test_v3_signs_the_uri_with_documented_escapes_decoded() -> None:
    encoded = "https://relaydesk.test/hook?key=abc%3A1%2Cx"
    decoded = "https://relaydesk.test/hook?key=abc:1,x"
    assert signature_v3(SECRET, "POST", encoded, BODY, TIMESTAMP) == signature_v3(SECRET, "POST", decoded, BODY,
                                                                                  TIMESTAMP)


def test_v3_rejects_stale_timestamps_and_tampering() -> None:
    signature = signature_v3(SECRET, "POST", URI, BODY, TIMESTAMP)
    assert not verify_signature_v3(SECRET, "POST", URI, BODY, TIMESTAMP, signature, now_ms=1_700_000_300_001)
    assert not verify_signature_v3(SECRET, "POST", URI, BODY + b" ", TIMESTAMP, signature, now_ms=1_700_000_000_000)
    assert not verify_signature_v3(SECRET, "POST", URI, BODY, "not-a-number", signature)


def test_v1_and_v2_are_hex_sha256_of_the_concatenation() -> None:
    assert signature_v1(SECRET, BODY) == hashlib.sha256(SECRET.encode() + BODY).hexdigest()
    assert signature_v2(SECRET, "POST", URI, BODY) == hashlib.sha256(
        (SECRET + "POST" + URI).encode() + BODY
    ).hexdigest()
