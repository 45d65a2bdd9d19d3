"""An emulator of Salesforce Messaging for In-App and Web: access tokens with User Verification, conversations
routed by Omni-Channel, their entries and server-sent events, and a rep console."""

from relaydesk.sandbox.salesforce.app import CONSOLE, create_app
from relaydesk.sandbox.salesforce.config import Keyset, SalesforceConfig, new_key_pair
from relaydesk.sandbox.salesforce.sandbox import SalesforceSandbox

__all__ = ["CONSOLE", "Keyset", "SalesforceConfig", "SalesforceSandbox", "create_app", "new_key_pair"]
