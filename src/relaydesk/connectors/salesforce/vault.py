"""Where each Salesforce conversation's access token lives: encrypted in the conversation's stream lease.

Outbound jobs (any worker) and the stream consumer (whichever process holds the lease) use the same token, so a
conversation keeps one MIAW subject for its whole life: tokens are continued, never re-created. The vault is made
once per process by the connectors' installer, from the runtime's database and SecretBox.
"""

from __future__ import annotations

from typing import Any

from relaydesk.connectors.salesforce.client import AccessToken
from relaydesk.core.delivery import DeliveryError
from relaydesk.core.leases import Leases
from relaydesk.crypto import SecretBox

PREFIX = "salesforce:"


def lease_name(integration_id: str, conversation_id: str) -> str:
    """The lease (and vault entry) of one MIAW conversation."""
    return f"{PREFIX}{integration_id}:{conversation_id}"


class TokenVault:
    """Conversation tokens at rest, encrypted, beside the stream cursor they were issued with."""

    def __init__(self, leases: Leases, box: SecretBox) -> None:
        self.leases = leases
        self.box = box

    async def open(self, name: str, data: dict[str, Any], token: AccessToken) -> AccessToken:
        """Keep a new conversation's first token; when one is kept already (a retried job), that one wins."""
        await self.leases.open(name, data=data, cursor=token.last_event_id, secret=self.box.encrypt(token.dumps()))
        kept = await self.token(name)
        assert kept is not None
        return kept

    async def token(self, name: str) -> AccessToken | None:
        lease = await self.leases.get(name)
        if lease is None or not lease.secret:
            return None
        return AccessToken.loads(self.box.decrypt(lease.secret))

    async def save(self, name: str, token: AccessToken) -> None:
        await self.leases.store_secret(name, self.box.encrypt(token.dumps()))

    async def end(self, name: str) -> None:
        """The conversation is over: its stream is no longer held and its token is dropped."""
        await self.leases.end(name)
        await self.leases.store_secret(name, "")


_vault: TokenVault | None = None


def configure(vault: TokenVault) -> None:
    """Make the process's vault (called by the connectors' installer)."""
    global _vault
    _vault = vault


def vault() -> TokenVault:
    if _vault is None:
        raise DeliveryError("Salesforce conversations need the connectors installed in this process", permanent=True)
    return _vault
