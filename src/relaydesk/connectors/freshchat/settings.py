"""Freshchat settings: the account's domain, API token and webhook key, the AI's agent, and which chats it takes."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.config import JsonDict

READ_ONLY: JsonDict = {"readOnly": True}
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$")
Mode = Literal["auto_handle", "assigned_only"]


def normalise_domain(value: str) -> str:
    """`https://Acme.freshchat.com/a/123/inbox` → `acme.freshchat.com`: the host only, as the form asks for it."""
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if not HOST.match(host):
        raise ValueError("enter the account's host name only, e.g. yourcompany.freshchat.com")
    return host


class FreshchatSettings(BaseModel):
    """Connect relaydesk to a Freshchat account: the AI answers chats there as one of your agents."""

    model_config = ConfigDict(extra="ignore", title="Freshchat")

    domain: str = Field(title="Domain", description="Your Freshchat address without https://, "
                                                    "e.g. yourcompany.freshchat.com.")
    api_token: SecretStr = Field(
        title="API token", description="Admin Settings, Integrations & APIs: generate the API key (it acts with the "
                                       "access of the admin who generated it).")
    default_agent_email: str = Field(
        min_length=3, max_length=254, title="Default agent email",
        description="The agent the AI replies as, e.g. a dedicated \"AI Assistant\" agent; it must already exist.")
    webhook_public_key: str = Field(
        min_length=1, max_length=4000, title="Webhook public key",
        description="Admin Settings, Integrations & APIs, Webhooks: the RSA public key shown beside the URL.")
    mode: Mode = Field(
        default="auto_handle", title="Which chats the AI takes",
        description="auto_handle: the AI claims every unassigned conversation; assigned_only: it answers only "
                    "conversations your routing assigned to the default agent. Conversations in flight keep their "
                    "assignment when this changes.")
    channel_id: str | None = Field(
        default=None, max_length=64, title="Topic for website handoffs",
        description="The channel (topic) id conversations handed off from the website widget open in; empty: "
                    "the first topic.")
    account_number: str | None = Field(
        default=None, max_length=40, title="Account number for links",
        description="The number after /a/ in your Freshchat inbox's address, for links to conversations.")
    api_base_url: str | None = Field(
        default=None, title="API base URL", description="Leave empty to use https://<domain>/v2; set it for a sandbox.")
    app_base_url: str | None = Field(
        default=None, title="Freshchat app URL", description="Leave empty to use https://<domain>.")
    default_agent_id: str | None = Field(default=None, title="Default agent ID", json_schema_extra=READ_ONLY)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return normalise_domain(value)

    @field_validator("default_agent_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def api(self) -> str:
        return (self.api_base_url or f"https://{self.domain}/v2").rstrip("/")

    def conversation_url(self, conversation_id: str) -> str:
        """Where a rep opens a conversation in Freshchat."""
        base = (self.app_base_url or f"https://{self.domain}").rstrip("/")
        account = f"/{self.account_number}" if self.account_number else ""
        return f"{base}/a{account}/open/conversation/{conversation_id}"
