"""What the connector looks up by name when it connects, since ids differ between tenants: the case statuses,
origin, activity type, category and status; the records behind AI-filled lookup columns; and proof that the
default owner, group, resolved status and mapped columns exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relaydesk.connectors.base import CheckFailed
from relaydesk.connectors.creatio.client import CreatioClient, CreatioError, literal
from relaydesk.connectors.creatio.settings import CreatioSettings

NAMED = (  # key in lookup_ids, entity, setting naming the record
    ("new_status", "CaseStatus", "new_status"),
    ("resolved_status", "CaseStatus", "resolved_status"),
    ("origin", "CaseOrigin", "case_origin"),
    ("activity_type", "ActivityType", "activity_type"),
    ("activity_category", "ActivityCategory", "activity_category"),
    ("activity_status", "ActivityStatus", "activity_status"),
)


@dataclass(frozen=True, slots=True)
class Found:
    """The ids kept in the integration's settings: named lookups, and each AI-filled lookup column's values."""

    lookup_ids: dict[str, str] = field(default_factory=dict)
    ai_field_ids: dict[str, dict[str, str]] = field(default_factory=dict)


def _key(name: str) -> str:
    return " ".join(name.lower().split())


async def _named(client: CreatioClient, s: CreatioSettings) -> dict[str, str]:
    found = {}
    for key, entity, setting in NAMED:
        if key == "resolved_status" and s.resolved_status_id:
            rows = await client.query(entity, "Id,Name", filter=f"Id eq {s.resolved_status_id}")
            if not rows:
                raise CheckFailed(f"No case status {s.resolved_status_id} in Creatio", setting="resolved_status_id")
        else:
            name = str(getattr(s, setting))
            rows = await client.query(entity, "Id,Name", filter=f"Name eq {literal(name)}", top=1)
            if not rows:
                names = ", ".join(str(r.get("Name")) for r in await client.query(entity, "Id,Name"))
                raise CheckFailed(f"No {entity} named {name!r} in Creatio; there are: {names or 'none'}",
                                  setting=setting)
        found[key] = str(rows[0]["Id"]).lower()
    return found


async def _ai_fields(client: CreatioClient, s: CreatioSettings) -> dict[str, dict[str, str]]:
    """Every mapped column must exist on Case; each allowed value of a lookup dropdown must name a record."""
    if not s.ai_fields:
        return {}
    columns = ",".join(f.column for f in s.ai_fields)
    try:
        await client.query("Case", f"Id,{columns}", top=1)
    except CreatioError as exc:
        if exc.status != 400:
            raise
        raise CheckFailed(f"Creatio refused the AI-filled columns {columns}: {exc.message}",
                          setting="ai_fields") from exc
    found: dict[str, dict[str, str]] = {}
    for f in s.ai_fields:
        if not f.lookup:
            continue
        try:
            rows = await client.query(f.lookup, "Id,Name")
        except CreatioError as exc:
            if exc.status not in (400, 404):
                raise
            raise CheckFailed(f"Creatio has no lookup object {f.lookup} (field {f.title}): {exc.message}",
                              setting="ai_fields") from exc
        records = {_key(str(r.get("Name"))): str(r["Id"]).lower() for r in rows}
        missing = [a.value for a in f.allowed_values if _key(a.value) not in records]
        if missing:
            names = ", ".join(str(r.get("Name")) for r in rows) or "none"
            raise CheckFailed(f"{f.lookup} has no record named {', '.join(missing)} (field {f.title}); there are: "
                              f"{names}", setting="ai_fields")
        found[f.column] = {a.value: records[_key(a.value)] for a in f.allowed_values}
    return found


async def find(client: CreatioClient, s: CreatioSettings) -> Found:
    """Everything looked up by name, with the configured ids proven to exist; CheckFailed names what is wrong."""
    named = await _named(client, s)
    if s.default_owner_id and not await client.read("Contact", s.default_owner_id, "Id"):
        raise CheckFailed(f"No contact {s.default_owner_id} in Creatio to own cases", setting="default_owner_id")
    if s.group_id and not await client.read("SysAdminUnit", s.group_id, "Id"):
        raise CheckFailed(f"No group (role) {s.group_id} in Creatio", setting="group_id")
    return Found(named, await _ai_fields(client, s))
