"""Creatio settings: the instance, how relaydesk signs in, defaults for new cases, lookups and AI-filled fields."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.config import JsonDict

READ_ONLY: JsonDict = {"readOnly": True}
GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
COLUMN = r"^[A-Za-z][A-Za-z0-9_]*$"


class AllowedValue(BaseModel):
    """One value a dropdown field may take, with words in a transcript that point to it."""

    value: str = Field(min_length=1, max_length=250)
    keywords: list[str] = Field(default_factory=list, max_length=50)


class AiField(BaseModel):
    """A case column the agent fills from the transcript at handoff.

    A dropdown on a lookup column (e.g. PriorityId) names the lookup object (CasePriority): each allowed value is
    then the name of one of its records, and the record's id is what gets written.
    """

    column: str = Field(pattern=COLUMN, max_length=100, title="Column name", description="e.g. UsrProductArea")
    title: str = Field(min_length=1, max_length=100, title="Title")
    type: Literal["text", "dropdown"] = "text"
    instruction: str = Field(default="", max_length=2000, title="Instruction", description="What to put here.")
    allowed_values: list[AllowedValue] = Field(default_factory=list, max_length=100, title="Allowed values")
    lookup: str | None = Field(
        default=None, pattern=COLUMN, max_length=100, title="Lookup object",
        description="For a dropdown on a lookup column (e.g. PriorityId): the lookup's object, e.g. CasePriority.",
    )

    @model_validator(mode="after")
    def _dropdown_has_values(self) -> AiField:
        if self.type == "dropdown" and not self.allowed_values:
            raise ValueError(f"the dropdown field {self.column} needs its allowed values")
        if self.lookup and self.type != "dropdown":
            raise ValueError(f"the field {self.column} names a lookup object, so it must be a dropdown")
        return self


class CreatioSettings(BaseModel):
    """Connect relaydesk to a Creatio instance with an OAuth 2.0 client (recommended) or an integration user."""

    model_config = ConfigDict(extra="ignore", title="Creatio")

    instance_url: str = Field(
        min_length=8, max_length=300, title="Instance URL",
        description="e.g. https://acme.creatio.com; the …/0/odata and …/odata forms are understood too.",
    )
    auth_mode: Literal["oauth", "login"] = Field(default="oauth", title="Sign in with")
    token_url: str | None = Field(
        default=None, max_length=300, title="Identity service token URL",
        description="The Identity Service URL (system setting OAuth20IdentityServerUrl) followed by /connect/token.",
    )
    client_id: str | None = Field(default=None, max_length=200, title="Client ID")
    client_secret: SecretStr | None = Field(default=None, title="Client secret")
    username: str | None = Field(default=None, max_length=200, title="Integration user name")
    password: SecretStr | None = Field(default=None, title="Integration user password")
    default_owner_id: str | None = Field(default=None, pattern=GUID, title="Default case owner (contact ID)")
    group_id: str | None = Field(default=None, pattern=GUID, title="Default case group (role ID)")
    resolved_status_id: str | None = Field(
        default=None, pattern=GUID, title="Resolved status ID",
        description="The case status that resolves the session; empty: the status named below.",
    )
    new_status: str = Field(default="New", max_length=100, title="Status of new cases")
    resolved_status: str = Field(default="Resolved", max_length=100, title="Resolved status name")
    case_origin: str = Field(default="Chat", max_length=100, title="Case origin")
    activity_type: str = Field(default="Task", max_length=100, title="Activity type")
    activity_category: str = Field(default="To do", max_length=100, title="Activity category")
    activity_status: str = Field(default="Completed", max_length=100, title="Activity status")
    ai_fields: list[AiField] = Field(default_factory=list, max_length=30, title="AI-filled fields")
    follow_every_conversation: bool = Field(  # named as outbound.FOLLOW_SETTING, which the producer reads
        default=False, title="Create a case on every conversation",
        description="Off: a case when the AI hands off. On: a case from the first message, every message logged as "
                    "it happens, the case completed at handoff.",
    )
    lookup_ids: dict[str, str] = Field(default_factory=dict, title="Lookups found", json_schema_extra=READ_ONLY)
    ai_field_ids: dict[str, dict[str, str]] = Field(
        default_factory=dict, title="Lookup values found", json_schema_extra=READ_ONLY,
        description="For each AI-filled lookup column: allowed value → record id.",
    )

    @property
    def root(self) -> str:
        """The instance's address without the OData path."""
        url = self.instance_url.strip().rstrip("/")
        for suffix in ("/odata", "/0"):
            url = url.removesuffix(suffix)
        return url

    @property
    def odata(self) -> str:
        """The OData 4 root: `/odata` when the URL named that form (.NET Core/.NET 8), else `/0/odata`."""
        url = self.instance_url.strip().rstrip("/")
        core = url.endswith("/odata") and not url.endswith("/0/odata")
        return f"{self.root}/odata" if core else f"{self.root}/0/odata"
