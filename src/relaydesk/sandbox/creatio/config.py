"""Settings of one Creatio sandbox: credentials, the integration user, reps, groups and the seeded lookups."""

from __future__ import annotations

from dataclasses import dataclass, field

# Creatio's shipped lookup ids (ConfigurationConstants and the case-management package); tenants may differ,
# which is why the connector resolves every lookup by name.
CASE_STATUSES: tuple[tuple[str, str, bool, bool], ...] = (  # id, name, IsFinal, IsResolved
    ("ae5f2f10-f46b-1410-fd9a-0050ba5d6c38", "New", False, False),
    ("7e9f1204-f46b-1410-fb9a-0050ba5d6c38", "In progress", False, False),
    ("3859c6e7-cbcb-486b-ba53-77808fe6e593", "Waiting for response", False, False),
    ("ae7f411e-f46b-1410-009b-0050ba5d6c38", "Resolved", False, True),
    ("3e7f420c-f46b-1410-fc9a-0050ba5d6c38", "Closed", True, True),
    ("6e5f4218-f46b-1410-fe9a-0050ba5d6c38", "Canceled", True, False),
)
CASE_ORIGINS: tuple[tuple[str, str], ...] = (
    ("5e5e202a-f46b-1410-3692-0050ba5d6c38", "Call"),
    ("4e5e202a-f46b-1410-3692-0050ba5d6c38", "Email"),
    ("7f9e1f1e-f46b-1410-3492-0050ba5d6c38", "Portal"),
    ("a5d9b5b6-2b0b-4a4f-9c1f-5c2f5f3b1c01", "Chat"),
)
CASE_PRIORITIES: tuple[tuple[str, str], ...] = (
    ("d9bd322c-f46b-1410-ee8c-0050ba5d6c38", "Medium"),
    ("c1bd322c-f46b-1410-ee8c-0050ba5d6c38", "Low"),
    ("e1bd322c-f46b-1410-ee8c-0050ba5d6c38", "High"),
    ("f1bd322c-f46b-1410-ee8c-0050ba5d6c38", "Critical"),
)
FILE_TYPES: tuple[tuple[str, str], ...] = (  # what a file record holds: the file itself, or a link
    ("529bc2f8-0ee0-df11-971b-001d60e938c6", "File"),
    ("539bc2f8-0ee0-df11-971b-001d60e938c6", "Link"),
)
ACTIVITY_TYPES: tuple[tuple[str, str], ...] = (
    ("fbe0acdc-cfc0-df11-b00f-001d60e938c6", "Task"),
    ("e2831dec-cfc0-df11-b00f-001d60e938c6", "Email"),
    ("e1831dec-cfc0-df11-b00f-001d60e938c6", "Call"),
)
ACTIVITY_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("f51c4643-58e6-df11-971b-001d60e938c6", "To do"),
    ("42c74c49-58e6-df11-971b-001d60e938c6", "Meeting"),
    ("03df85bf-6b19-4dea-8463-d5d49b80bb28", "Call"),
    ("8038a396-7825-e011-8165-00155d043204", "Email"),
)
ACTIVITY_STATUSES: tuple[tuple[str, str], ...] = (
    ("384d4b84-58e6-df11-971b-001d60e938c6", "Not started"),
    ("394d4b84-58e6-df11-971b-001d60e938c6", "In progress"),
    ("4bdbb88f-58e6-df11-971b-001d60e938c6", "Completed"),
    ("201cfba8-58e6-df11-971b-001d60e938c6", "Canceled"),
)


@dataclass(frozen=True)
class PersonSeed:
    """A Creatio user: a SysAdminUnit of type 4 (user) tied to an employee contact."""

    user_id: str
    contact_id: str
    login: str
    name: str


@dataclass(frozen=True)
class GroupSeed:
    """An organizational role (SysAdminUnit) a case can be assigned to."""

    group_id: str
    name: str


@dataclass(frozen=True)
class CreatioConfig:
    """Everything that shapes one sandbox instance; the defaults give a Service Creatio tenant ready to use."""

    client_id: str = "sandbox-creatio-client"
    client_secret: str = "sandbox-creatio-secret"
    integration_user: PersonSeed = PersonSeed(
        "7f3b869f-34f3-4f20-ab4d-7480a5fdf647", "410006e1-ca4e-4502-a9ec-e54d922d2c00", "relaydesk_integration",
        "relaydesk Integration",
    )
    integration_password: str = "sandbox-creatio-password"
    reps: tuple[PersonSeed, ...] = (
        PersonSeed("c4d6e2a1-1111-4a7e-9f00-000000000001", "c4d6e2a1-2222-4a7e-9f00-000000000001", "ada",
                   "Ada Lovelace"),
        PersonSeed("c4d6e2a1-1111-4a7e-9f00-000000000002", "c4d6e2a1-2222-4a7e-9f00-000000000002", "grace",
                   "Grace Hopper"),
    )
    groups: tuple[GroupSeed, ...] = (
        GroupSeed("5c7d0f2e-3b1a-4f6e-9a2d-1e8b7c6d5a01", "1st-line support"),
        GroupSeed("5c7d0f2e-3b1a-4f6e-9a2d-1e8b7c6d5a02", "2nd-line support"),
    )
    custom_case_columns: tuple[str, ...] = ("UsrProductArea", "UsrUrgency")
    access_token_ttl_seconds: int = 3600
    max_file_bytes: int = 10 * 1024 * 1024  # the MaxFileSize system setting (10 MB out of the box)
    webhook_timeout_seconds: float = 5.0
    public_base_url: str = "http://creatio.sandbox"
    lookups: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=lambda: {
        "CaseOrigin": CASE_ORIGINS, "CasePriority": CASE_PRIORITIES, "FileType": FILE_TYPES,
        "ActivityType": ACTIVITY_TYPES, "ActivityCategory": ACTIVITY_CATEGORIES,
        "ActivityStatus": ACTIVITY_STATUSES,
    })
