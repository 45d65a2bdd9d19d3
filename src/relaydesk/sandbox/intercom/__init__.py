"""An emulator of the Intercom REST API 2.11 subset relaydesk uses, with signed webhooks and a rep console."""

from relaydesk.sandbox.intercom.app import CONSOLE, create_app
from relaydesk.sandbox.intercom.sandbox import IntercomSandbox, sign
from relaydesk.sandbox.intercom.state import IntercomConfig

__all__ = ["CONSOLE", "IntercomConfig", "IntercomSandbox", "create_app", "sign"]
