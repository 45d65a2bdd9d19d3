"""An emulator of the Freshchat API v2 subset relaydesk uses, with RSA-signed webhooks and a rep console."""

from relaydesk.sandbox.freshchat.app import CONSOLE, create_app
from relaydesk.sandbox.freshchat.sandbox import FreshchatSandbox, public_key_pem, sign
from relaydesk.sandbox.freshchat.state import FreshchatConfig

__all__ = ["CONSOLE", "FreshchatConfig", "FreshchatSandbox", "create_app", "public_key_pem", "sign"]
