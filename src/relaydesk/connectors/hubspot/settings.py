"""HubSpot settings: the app's credentials, the inbox and assignee, tickets, and what activation provisions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.config import JsonDict

READ_ONLY: JsonDict = {"readOnly": True}

# Scopes relaydesk asks for when an admin connects a portal (custom channels need an app, not a private app:
# https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide).
SCOPES = (
    "oauth",
    "conversations.read",
    "conversations.write",
    "conversations.custom_channels.read",
    "conversations.custom_channels.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.owners.read",
    "tickets",
    "files",
)


class HubSpotSettings(BaseModel):
    """Connect relaydesk to a HubSpot portal through your HubSpot app (OAuth) and its custom channel."""

    model_config = ConfigDict(extra="ignore", title="HubSpot")

    app_id: int = Field(gt=0, title="App ID", description="The numeric ID of your HubSpot app (app settings, Auth).")
    client_id: str = Field(min_length=1, max_length=200, title="Client ID")
    client_secret: SecretStr = Field(
        title="Client secret", description="Signs HubSpot's webhooks and the OAuth token exchange."
    )
    developer_api_key: SecretStr = Field(
        title="Developer API key", description="Registers the custom channel (developer account, Keys)."
    )
    inbox_id: str = Field(
        min_length=1, max_length=40, title="Inbox", description="The conversations inbox or help desk reps work in."
    )
    default_assignee: str | None = Field(
        default=None, max_length=40, title="Default assignee",
        description="HubSpot user ID that handed-off conversations are assigned to; empty leaves them unassigned.",
    )
    create_tickets: bool = Field(default=True, title="Create a ticket for each handoff")
    ticket_pipeline: str = Field(default="0", max_length=40, title="Ticket pipeline")
    ticket_stage: str = Field(default="1", max_length=40, title="Ticket stage", description="Stage ID of new tickets.")
    channel_name: str = Field(default="relaydesk AI chat", max_length=100, title="Channel name in HubSpot")
    api_base_url: str = Field(default="https://api.hubapi.com", title="API base URL")
    app_base_url: str = Field(
        default="https://app.hubspot.com", title="HubSpot app URL", description="Where reps open threads and tickets."
    )
    portal_id: int | None = Field(default=None, title="Portal", json_schema_extra=READ_ONLY)
    channel_id: str | None = Field(default=None, title="Custom channel", json_schema_extra=READ_ONLY)
    channel_account_id: str | None = Field(default=None, title="Channel account", json_schema_extra=READ_ONLY)

    @property
    def api(self) -> str:
        return self.api_base_url.rstrip("/")

    @property
    def app(self) -> str:
        return self.app_base_url.rstrip("/")
