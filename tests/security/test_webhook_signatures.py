"""Forged, altered, unsigned, stale and misaddressed webhooks are refused with 401 and change nothing, for every
connector in the registry.

Each case starts from a webhook the helpdesk's sandbox really sent (a rep reply), which relaydesk accepted, then
sends it again altered one way at a time. A connector registered without a case here fails the test by name.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from relaydesk.connectors.registry import CONNECTORS
from relaydesk.sandbox.hubspot.signature import signature_v3
from tests.connectors.contract import DRIVERS, Stack, has_webhooks, stack_with
from tests.security.test_webhook_input import _counts

Request = tuple[str, dict[str, str], bytes]
FIVE_MINUTES_MS = 5 * 60 * 1000


def _with_newline(body: bytes) -> bytes:
    """The same JSON with one more byte: a signature over the original no longer covers it."""
    return body + b"\n"


def _reworded(body: bytes) -> bytes:
    """The same notice claiming other text than the helpdesk holds."""
    return json.dumps({**json.loads(body), "text": "Please wire the refund to IBAN XX00 0000"}).encode()


def _stale_hubspot(driver: Any, url: str, body: bytes) -> dict[str, str]:
    """HubSpot v3 headers signed correctly with the app's secret, but six minutes ago."""
    stamp = str(int(time.time() * 1000) - FIVE_MINUTES_MS - 60_000)
    return {"x-hubspot-request-timestamp": stamp,
            "x-hubspot-signature-v3": signature_v3(driver.sandbox.config.client_secret, "POST", url, body, stamp)}


@dataclass(frozen=True)
class Scheme:
    """How one provider authenticates its webhooks, and the forgeries to try against it."""

    headers: tuple[str, ...]  # the headers that carry the signature (and its timestamp); none if unsigned
    forged: str = ""  # a well-formed signature made with the wrong key
    altered: Callable[[bytes], bytes] = _with_newline
    stale: Callable[[Any, str, bytes], dict[str, str]] | None = None  # re-signed with an expired timestamp


SCHEMES: dict[str, Scheme] = {
    # base64 HMAC-SHA256 of method + URI + body + timestamp; five minutes' validity.
    "hubspot": Scheme(("x-hubspot-signature-v3", "x-hubspot-request-timestamp"),
                      forged=base64.b64encode(b"\x01" * 32).decode(), stale=_stale_hubspot),
    # sha1=<hex HMAC-SHA1 of the body>; no timestamp, repeats are caught by the event id.
    "intercom": Scheme(("x-hub-signature",), forged="sha1=" + "0" * 40),
    # base64 RSA-SHA256 of the body, checked with the account's public key; no timestamp.
    "freshchat": Scheme(("x-freshchat-signature",), forged=base64.b64encode(b"\x02" * 256).decode()),
    # Creatio signs nothing: the URL key authenticates, and every notice is read back from Creatio's API.
    "creatio": Scheme((), altered=_reworded),
    # Salesforce sends no webhooks at all (rep replies arrive on its event stream): nothing posted is accepted.
    "salesforce": Scheme(()),
}


def _sendable(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in ("content-length", "host")}


def _wrong_key(url: str) -> str:
    parts = urlsplit(url)
    key = parse_qs(parts.query)["key"][0]
    return parts._replace(query=urlencode({"key": key[::-1]})).geturl()


async def _refused(stack: Stack, name: str, request: Request) -> None:
    url, headers, body = request
    response = await stack.webhook_client.post(url, content=body, headers=headers)
    assert response.status_code == 401, (name, response.status_code, response.text[:300])
    assert response.json()["error"]["code"] == "unauthorized" and response.json()["error"]["message"], name


async def _genuine(stack: Stack, driver: Any) -> Request:
    """A rep reply's webhook as the sandbox sent it, once relaydesk has applied it."""
    visitor = await stack.visitor(name="Jane Doe")
    session_id = await stack.chat(visitor, ("visitor", "My invoice is wrong"))
    await stack.hand_off(session_id)
    await stack.settled(session_id)
    await driver.drain()
    sent_before = len(driver.webhook_requests())
    driver.rep_reply(session_id, "Refund issued, Jane.")
    await driver.drain()
    await stack.wait_for(lambda: _has_reply(stack, session_id))
    await stack.settled(session_id)
    url, headers, body = driver.webhook_requests()[sent_before:][0]
    return url, _sendable(headers), body


async def _has_reply(stack: Stack, session_id: str) -> bool:
    return any(m["text"] == "Refund issued, Jane." for m in await stack.messages(session_id))


def test_every_registered_connector_has_a_webhook_case() -> None:
    missing = sorted(set(CONNECTORS) - set(SCHEMES))
    assert not missing, (f"connectors without a webhook signature case in {Path(__file__).name}: {missing}; add a "
                         "Scheme naming their signature headers, a forged value and, if signed with a timestamp, "
                         "a stale re-signing")
    no_driver = sorted(set(CONNECTORS) - set(DRIVERS))
    assert not no_driver, f"connectors without a contract driver to send real webhooks: {no_driver}"


@pytest.mark.parametrize("connector", sorted(CONNECTORS))
async def test_forged_altered_unsigned_stale_and_misaddressed_webhooks_are_refused(
    connector: str, tmp_path: Path
) -> None:
    scheme = SCHEMES.get(connector)
    if scheme is None or connector not in DRIVERS:
        pytest.fail(f"{connector} has no webhook signature case or contract driver: see "
                    "test_every_registered_connector_has_a_webhook_case")
    async with stack_with(connector, f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as (stack, driver):
        await driver.connect(stack)
        if not has_webhooks(driver):
            await _nothing_is_accepted(stack, connector)
            return
        url, headers, body = await _genuine(stack, driver)
        before = await _counts(stack)
        unsigned = {k: v for k, v in headers.items() if k not in scheme.headers}
        attempts: dict[str, Request] = {
            "wrong URL key": (_wrong_key(url), headers, body),
            "no URL key": (url.split("?")[0], headers, body),
            "altered body": (url, headers, scheme.altered(body)),
        }
        if scheme.headers:
            attempts["forged signature"] = (url, {**headers, scheme.headers[0]: scheme.forged}, body)
            attempts["no signature"] = (url, unsigned, body)
            attempts["signature of another body"] = (url, headers, _with_newline(body))
        if scheme.stale is not None:
            attempts["stale timestamp"] = (url, {**headers, **scheme.stale(driver, url, body)}, body)
        for name, attempt in attempts.items():
            await _refused(stack, f"{connector}: {name}", attempt)
        assert await _counts(stack) == before, f"{connector}: a refused webhook changed something"

        replayed = await stack.webhook_client.post(url, content=body, headers=headers)
        assert replayed.status_code == 200 and not replayed.json()["applied"], replayed.text
        assert await _counts(stack) == before, f"{connector}: a replayed webhook was applied twice"


async def _nothing_is_accepted(stack: Stack, connector: str) -> None:
    """A helpdesk that sends no webhooks: even a request with the right URL key is refused."""
    shown = await stack.client.get(f"/api/v1/integrations/{connector}", headers=stack.admin)
    url = shown.json()["webhook_url"]
    before = await _counts(stack)
    body = json.dumps({"event": "message", "text": "Refund issued"}).encode()
    headers = {"content-type": "application/json"}
    for name, target in (("right URL key", url), ("wrong URL key", _wrong_key(url))):
        await _refused(stack, f"{connector}: {name}", (target, headers, body))
    assert await _counts(stack) == before

