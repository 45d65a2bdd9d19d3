"""An emulator of Creatio: OData 4 for cases and activities, both sign-ins, a rep console, business processes."""

from relaydesk.sandbox.creatio.app import create_app
from relaydesk.sandbox.creatio.config import CreatioConfig, GroupSeed, PersonSeed
from relaydesk.sandbox.creatio.sandbox import CreatioSandbox

__all__ = ["CreatioConfig", "CreatioSandbox", "GroupSeed", "PersonSeed", "create_app"]
