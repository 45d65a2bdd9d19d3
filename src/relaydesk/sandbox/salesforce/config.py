"""What the Salesforce sandbox's org looks like: its ids, the deployment, the keyset and the documented limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key_pair() -> tuple[str, str]:
    """A fresh 2048-bit RSA key pair as (private PEM, public PEM), the kind a customer generates for User
    Verification."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class Keyset:
    """A User Verification keyset: its name, the issuer it accepts and its public keys by key id (`kid`).

    `audience`, when set, must be the token's `aud` claim; Salesforce's pages do not require one, so it is off.
    """

    name: str = "Relaydesk_Keyset"
    issuer: str = "relaydesk"
    keys: dict[str, str] = field(default_factory=dict)
    audience: str | None = None


@dataclass
class SalesforceConfig:
    """The org, its Embedded Service Deployment (custom client) and what the Messaging Settings say."""

    org_id: str = "00D5g000004XyZaEAK"
    es_developer_name: str = "Relaydesk_Custom_Client"
    my_domain: str = "acme"
    auth_key_id: str = "relaydesk-key-1"
    private_key_pem: str = ""
    keyset: Keyset = field(default_factory=Keyset)
    access_token_ttl_s: int = 3600  # "Authorization Token Expiration Time for Verified Users", default 60 minutes
    max_identity_token_ttl_s: int = 3600
    token_requests_per_minute: int = 200  # help.salesforce.com service.miaw_rate_limits.htm
    max_file_bytes: int = 5_000_000
    max_text_chars: int = 8000
    ping_interval_s: float = 15.0
    agent_name: str = "Maria (Support)"
    agent_id: str = "0055g00000AgEnTAAA"

    def __post_init__(self) -> None:
        if not self.private_key_pem:
            self.private_key_pem, public = new_key_pair()
            self.keyset.keys.setdefault(self.auth_key_id, public)

    @property
    def org_id_15(self) -> str:
        return self.org_id[:15]
