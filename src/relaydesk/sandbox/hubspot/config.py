"""Settings of one HubSpot sandbox: the portal, the developer app, its reps, inboxes, limits and webhook retries."""

from __future__ import annotations

from dataclasses import dataclass, field

# Scopes a HubSpot app may hold; custom channel scopes cannot be granted to private apps
# (https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide).
CUSTOM_CHANNEL_SCOPES = frozenset({"conversations.custom_channels.read", "conversations.custom_channels.write"})

DEFAULT_APP_SCOPES: tuple[str, ...] = (
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


@dataclass(frozen=True)
class RepSeed:
    """A HubSpot user who works the inbox; it is also a CRM owner."""

    user_id: int
    owner_id: str
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class InboxSeed:
    """A conversations inbox or the help desk (type INBOX or HELP_DESK)."""

    inbox_id: str
    name: str
    type: str = "INBOX"


@dataclass(frozen=True)
class RetryPolicy:
    """How the sandbox retries a failed webhook: up to `max_retries` times with doubling delays and jitter.

    HubSpot documents up to 10 retries spread over a day, and treats a 400, 401, 403, 404 or 405
    answer as final (https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide).
    Tests shrink the delays to zero.
    """

    max_retries: int = 10
    first_delay_seconds: float = 60.0
    max_delay_seconds: float = 8 * 3600.0
    jitter_ratio: float = 0.1
    timeout_seconds: float = 5.0

    def delay(self, retry_number: int, retry_after: float | None, jitter: float) -> float:
        """Seconds to wait before retry number `retry_number` (1-based); `jitter` is a draw in [0, 1)."""
        if retry_after is not None:
            return retry_after
        base = min(self.max_delay_seconds, self.first_delay_seconds * 2.0 ** (retry_number - 1))
        return base * (1 + self.jitter_ratio * jitter)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox portal; the defaults give a ready-to-use Service Hub account."""

    portal_id: int = 62515
    hub_domain: str = "relaydesk-sandbox.hubspot.com"
    app_id: int = 1_000_001
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    developer_api_key: str = "sandbox-developer-api-key"
    app_scopes: tuple[str, ...] = DEFAULT_APP_SCOPES
    redirect_uris: tuple[str, ...] = ()
    private_app_tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reps: tuple[RepSeed, ...] = (
        RepSeed(7001, "101", "ada@relaydesk-sandbox.test", "Ada", "Lovelace"),
        RepSeed(7002, "102", "grace@relaydesk-sandbox.test", "Grace", "Hopper"),
    )
    inboxes: tuple[InboxSeed, ...] = (
        InboxSeed("1001", "Support inbox", "INBOX"),
        InboxSeed("1002", "Help desk", "HELP_DESK"),
    )
    access_token_ttl_seconds: int = 1800
    oauth_burst_limit: int = 110
    private_app_burst_limit: int = 190
    private_app_daily_limit: int = 650_000
    search_limit_per_second: int = 5
    max_file_size_bytes: int = 2 * 1024**3
    retry_policy: RetryPolicy = RetryPolicy()
    public_base_url: str = "http://hubspot.sandbox"

    def __post_init__(self) -> None:
        """Refuse private-app tokens holding scopes HubSpot never grants to private apps."""
        for token, scopes in self.private_app_tokens.items():
            forbidden = CUSTOM_CHANNEL_SCOPES.intersection(scopes)
            if forbidden:
                raise ValueError(f"private app token {token[:8]}… cannot hold {sorted(forbidden)}")
