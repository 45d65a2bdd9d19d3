"""Intercom settings: the access token and client secret, the region, the AI's admin, and how handoffs are routed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.config import JsonDict

READ_ONLY: JsonDict = {"readOnly": True}
REGION_HOSTS = {"US": "https://api.intercom.io", "EU": "https://api.eu.intercom.io", "AU": "https://api.au.intercom.io"}


class IntercomSettings(BaseModel):
    """Connect relaydesk to an Intercom workspace: the AI answers there as a teammate and hands off to your reps."""

    model_config = ConfigDict(extra="ignore", title="Intercom")

    access_token: SecretStr = Field(
        title="Access token", description="Developer Hub, your app, Authentication: the app's access token."
    )
    client_secret: SecretStr = Field(
        title="Client secret", description="Developer Hub, your app, Basic information: signs Intercom's webhooks."
    )
    region: Literal["US", "EU", "AU"] = Field(default="US", title="Data region of the workspace")
    ai_admin_id: str = Field(
        min_length=1, max_length=40, title="AI admin ID",
        description="The teammate the AI replies as (Settings, Teammates: the last segment of its URL).",
    )
    assignment: Literal["unassigned", "admin", "team"] = Field(
        default="unassigned", title="On handoff, assign to",
        description="unassigned leaves the conversation for your inbox rules; admin or team assigns it.",
    )
    assignee_admin_id: str | None = Field(default=None, max_length=40, title="Admin ID to assign handoffs to")
    assignee_team_id: str | None = Field(default=None, max_length=40, title="Team ID to assign handoffs to")
    handoff_tag: str = Field(default="relaydesk_handed_off", min_length=1, max_length=100,
                             title="Tag applied on handoff")
    web_settle_s: float = Field(
        default=4.0, ge=0, le=120, title="Wait before answering a Messenger conversation (seconds)",
        description="Lets Intercom's assignment rules run first: a conversation they give a teammate is theirs.",
    )
    email_settle_s: float = Field(
        default=30.0, ge=0, le=600, title="Wait before answering an email conversation (seconds)",
    )
    process_on_assignment: bool = Field(
        default=False, title="Process on assignment",
        description="The AI answers only conversations assigned to the AI admin, reading the whole thread then.",
    )
    sync_attributes: bool = Field(
        default=True, title="Custom attributes in the AI's context",
        description="The contact's and its companies' custom attributes, read when a conversation starts and "
                    "refreshed when the contact changes.",
    )
    citation_note: bool = Field(
        default=False, title="Send citations as a note",
        description="After each AI answer, an internal note links to the relaydesk session and the articles used.",
    )
    sync_closed_conversations: bool = Field(
        default=True, title="Knowledge sync: closed conversations",
        description="Besides help-center articles, import each closed conversation's question and the rep's answer.",
    )
    api_base_url: str | None = Field(
        default=None, title="API base URL", description="Leave empty to use the region's host; set it for a sandbox."
    )
    app_base_url: str = Field(default="https://app.intercom.com", title="Intercom app URL")
    app_id: str | None = Field(default=None, title="Workspace ID", json_schema_extra=READ_ONLY)
    articles_synced_to: int | None = Field(default=None, title="Articles synced up to (updated_at)",
                                           json_schema_extra=READ_ONLY)
    conversations_synced_to: int | None = Field(default=None, title="Closed conversations synced up to (updated_at)",
                                                json_schema_extra=READ_ONLY)

    @property
    def api(self) -> str:
        return (self.api_base_url or REGION_HOSTS[self.region]).rstrip("/")

    def conversation_url(self, conversation_id: str) -> str:
        """Where a rep opens a conversation in Intercom's inbox."""
        return f"{self.app_base_url.rstrip('/')}/a/inbox/{self.app_id}/inbox/conversation/{conversation_id}"
