"""The sandbox's User Verification and token rules, which the connector's identity handling is tested against."""

from __future__ import annotations

import time

import jwt
import pytest

from relaydesk.sandbox.salesforce import SalesforceSandbox, new_key_pair
from relaydesk.sandbox.salesforce.sandbox import MiawError


@pytest.fixture(scope="module")
def sandbox() -> SalesforceSandbox:
    return SalesforceSandbox()


def identity(sandbox: SalesforceSandbox, *, key: str | None = None, kid: str | None = None, **claims: object) -> str:
    config = sandbox.config
    now = int(time.time())
    body = {"sub": "jane@example.com", "iss": config.keyset.issuer, "iat": now, "exp": now + 300, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key or config.private_key_pem,
                      algorithm="RS256", headers={"kid": kid or config.auth_key_id})


def request(sandbox: SalesforceSandbox, token: str) -> dict[str, object]:
    config = sandbox.config
    return {"orgId": config.org_id, "esDeveloperName": config.es_developer_name, "capabilitiesVersion": "1",
            "platform": "Web", "authorizationType": "JWT", "customerIdentityToken": token}


@pytest.mark.parametrize(("change", "fragment"), [
    ({"key": new_key_pair()[0]}, "signature"),
    ({"kid": "unknown-key"}, "No key with kid"),
    ({"iss": "someone-else"}, "issuer"),
    ({"exp": int(time.time()) - 10}, "expired"),
    ({"sub": None}, "sub"),
])
def test_identity_tokens_are_checked(sandbox: SalesforceSandbox, change: dict[str, object], fragment: str) -> None:
    with pytest.raises(MiawError) as refused:
        sandbox.authenticated_token(request(sandbox, identity(sandbox, **change)))  # type: ignore[arg-type]
    assert refused.value.status == 401 and fragment in refused.value.message


def test_a_verified_subject_is_stable_and_continuation_keeps_it(sandbox: SalesforceSandbox) -> None:
    first = sandbox.authenticated_token(request(sandbox, identity(sandbox)))
    again = sandbox.authenticated_token(request(sandbox, identity(sandbox)))
    subject = first["context"]["endUser"]["subject"]
    assert subject == again["context"]["endUser"]["subject"]
    assert subject == "v2/iamessage/AUTH/Relaydesk_Keyset/uid:jane@example.com"
    user = sandbox.end_user(f"Bearer {first['accessToken']}")
    continued = sandbox.continuation_token(user)
    assert continued["accessToken"] != first["accessToken"]
    assert sandbox.end_user(f"Bearer {continued['accessToken']}").subject == subject


def test_conversation_ids_must_be_lowercase_uuid4(sandbox: SalesforceSandbox) -> None:
    user = sandbox.end_user(f"Bearer {sandbox.unauthenticated_token(request(sandbox, ''))['accessToken']}")
    for bad in ("3F0C7A4E-8D1B-4C6E-9F2A-1B2C3D4E5F60", "3f0c7a4e-8d1b-1c6e-9f2a-1b2c3d4e5f60", "nope"):
        with pytest.raises(MiawError, match="UUID format"):
            sandbox.create_conversation(user, {"conversationId": bad,
                                               "esDeveloperName": sandbox.config.es_developer_name})
