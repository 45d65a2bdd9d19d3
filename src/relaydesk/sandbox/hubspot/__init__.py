"""An emulator of HubSpot's documented APIs (OAuth, custom channels, conversations, CRM, files, webhooks)."""

from relaydesk.sandbox.hubspot.app import create_app
from relaydesk.sandbox.hubspot.config import InboxSeed, RepSeed, RetryPolicy, SandboxConfig
from relaydesk.sandbox.hubspot.sandbox import HubSpotSandbox
from relaydesk.sandbox.hubspot.signature import signature_v1, signature_v2, signature_v3, verify_signature_v3

__all__ = [
    "HubSpotSandbox",
    "InboxSeed",
    "RepSeed",
    "RetryPolicy",
    "SandboxConfig",
    "create_app",
    "signature_v1",
    "signature_v2",
    "signature_v3",
    "verify_signature_v3",
]
