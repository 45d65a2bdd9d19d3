"""Request and response bodies of the public HTTP API."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, WithJsonSchema

from relaydesk.core.webhooks_out import EVENT_TYPES

ClientId = Field(
    default=None,
    min_length=1,
    max_length=100,
    pattern=r"^[A-Za-z0-9._:-]+$",
    description="the sender's id for this message; a repeat with the same id returns the first",
)


_LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\\\]]{1,64}$")
_LABEL = re.compile(r"^[^\s@\"(),:;<>\[\\\]./]{1,63}$")


def _check_email(value: str) -> str:
    """An address by its syntax alone: intranet and test domains are real addresses for someone."""
    local, at, domain = value.strip().rpartition("@")
    if not at or len(value) > 254 or not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") \
            or ".." in local or not all(_LABEL.match(label) for label in domain.split(".")):
        raise ValueError("not an email address")
    return f"{local}@{domain.lower()}"


Email = Annotated[str, AfterValidator(_check_email), WithJsonSchema({"type": "string", "format": "email",
                                                                     "maxLength": 254})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ContactOut(BaseModel):
    id: str
    email: str | None
    name: str | None
    phone: str | None
    verified: bool
    external_user_id: str | None
    custom_data: dict[str, Any]
    unverified_custom_data: dict[str, Any]
    created_at: str | None


class ContactIn(Strict):
    """What a visitor, or the page, says about itself: stored, never trusted."""

    name: str | None = Field(default=None, max_length=200)
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=50)
    custom_data: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=50)


class ContactTokenOut(BaseModel):
    token: str
    contact: ContactOut


class AuthenticateIn(Strict):
    """Called by the customer's backend: the only way to a verified contact."""

    email: Email
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    external_user_id: str | None = Field(default=None, max_length=200)
    custom_data: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=50)
    anonymous_token: str | None = Field(default=None, description="a visitor's anonymous contact token to merge in")


class SessionIn(Strict):
    language: str | None = Field(default=None, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class SessionOut(BaseModel):
    id: str
    contact_id: str
    channel: str
    state: Literal["ai", "handed_off", "human", "resolved", "closed"]
    resolved_by: str | None
    assignee: str | None
    language: str | None
    sentiment: str | None
    sentiment_score: float | None
    summary: str | None
    tags: list[str]
    csat_score: int | None
    csat_comment: str | None
    last_seq: int
    created_at: str | None
    updated_at: str | None
    ended_at: str | None


class SessionList(BaseModel):
    sessions: list[SessionOut]


class Attachment(Strict):
    name: str = Field(max_length=255)
    # http(s) only: reps open these links in their helpdesk and visitors in the widget, so never `javascript:`.
    url: str = Field(max_length=2000, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+([/?#]\S*)?$",
                     description="an http(s) URL, such as the url POST /uploads answers")
    content_type: str | None = Field(default=None, max_length=100)
    size: int | None = Field(default=None, ge=0)


class VisitorMessageIn(Strict):
    client_id: str | None = ClientId
    text: str = Field(default="", max_length=10_000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    context: dict[str, Any] = Field(default_factory=dict, description="what the page reports: url, title, …")


class MessageOut(BaseModel):
    id: int
    session_id: str
    seq: int
    author: Literal["visitor", "ai", "rep", "system"]
    author_name: str | None
    kind: Literal["text", "note", "event"]
    event: str | None
    text: str
    html: str | None
    attachments: list[dict[str, Any]]
    component: dict[str, Any] | None
    client_id: str | None
    created_at: str | None


class MessageList(BaseModel):
    messages: list[MessageOut]


class PostedOut(BaseModel):
    message: MessageOut
    created: bool


class RepMessageIn(Strict):
    text: str = Field(min_length=1, max_length=10_000)
    kind: Literal["text", "note"] = "text"
    author_name: str | None = Field(default=None, max_length=200)
    client_id: str | None = ClientId


class TransitionIn(Strict):
    actor_name: str | None = Field(default=None, max_length=200)
    reopen_to: Literal["ai", "human"] = "ai"


class HandoffIn(Strict):
    reason: Literal[
        "explicit_request", "topic", "frustration", "unproductive", "ai_decision", "office_hours", "rep_takeover"
    ] = "ai_decision"
    topic: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=5000)


class TimelineOut(BaseModel):
    id: int
    actor: str
    action: str
    detail: dict[str, Any]
    at: str


class LinkOut(BaseModel):
    integration: str
    kind: str
    external_id: str
    url: str | None


class SessionDetail(BaseModel):
    session: SessionOut
    contact: ContactOut
    timeline: list[TimelineOut]
    links: list[LinkOut]


class DeliveryOut(BaseModel):
    id: int
    session_id: str | None
    target: str
    kind: str
    state: Literal["pending", "running", "done", "dead", "discarded"]
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    finished_at: str | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class WebhookEndpointIn(Strict):
    url: HttpUrl
    events: list[Literal[EVENT_TYPES]] = Field(default_factory=list, description="empty: every event")  # type: ignore[valid-type]


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    secret: str | None = Field(default=None, description="shown once, when the endpoint is created")


class PersonaOut(BaseModel):
    name: str | None
    avatar_url: str | None


class WidgetThemeOut(BaseModel):
    brand_color: str
    mode: Literal["light", "dark", "auto"]
    position: Literal["right", "left"]


class OfficeHoursOut(BaseModel):
    open: bool | None = Field(description="whether people answer now; null when the workspace has no office hours")
    notice: str | None = Field(description="the site owner's own words for out of hours; null: the built-in copy")


class CsatSettingsOut(BaseModel):
    enabled: bool
    low_score_comment: Literal["ask", "require"]


class UploadLimitsOut(BaseModel):
    max_bytes: int
    types: list[str]
    extensions: list[str]


class WidgetConfigOut(BaseModel):
    """What the widget needs before it draws itself: names, colours, copy choices and limits."""

    title: str
    bot: PersonaOut
    agent: PersonaOut
    theme: WidgetThemeOut
    greeting: list[str]
    suggested_questions: list[str]
    language: str = Field(description="the language chosen for this visitor")
    direction: Literal["ltr", "rtl"]
    languages: list[str]
    copy_: dict[str, str] = Field(alias="copy", description="every string of the widget in `language`")
    office_hours: OfficeHoursOut
    csat: CsatSettingsOut
    uploads: UploadLimitsOut
    max_message_chars: int


class CsatIn(Strict):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class UploadOut(BaseModel):
    """An uploaded file, ready to send as an attachment of a message."""

    name: str
    url: str
    content_type: str
    size: int
    preview_url: str | None = Field(description="an image the widget can show inline; null for other files")
