"""Creatio's business-process calls: parse the JSON the admin's "Call web service" element posts, map each
`event_type` to a handler (EVENT_HANDLERS).

Creatio has no outbound webhook API and does not sign these calls, so besides the key in the URL every notice is
confirmed by reading the record back through OData: the activity must exist on the named case with the posted
text, the case must really be in the resolved status. What the request carries is never taken on trust.
Activities relaydesk wrote itself (their title starts with TITLE_PREFIX) are ignored, should a process forget the
"Created by is not the integration user" filter. Payload shapes are documented in docs/connectors/creatio.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from relaydesk.connectors.base import InboundBatch, InboundEvent, SessionRef, WebhookRejected, json_body
from relaydesk.connectors.creatio.client import CreatioClient
from relaydesk.core.errors import DomainError

Json = dict[str, Any]
TITLE_PREFIX = "relaydesk · "


class ConfirmationFailed(DomainError):
    """Creatio could not be asked about a call; answered 503 so the process log shows the call failed."""

    status = 503
    code = "helpdesk_unavailable"


@dataclass(frozen=True, slots=True)
class Scope:
    """What confirms a notice: the client to read records back with, and the status that means resolved."""

    client: CreatioClient
    resolved_status_id: str | None


Handler = Callable[[Json, Scope], Awaitable[list[InboundEvent] | str]]


def _case_ref(case_id: str) -> SessionRef:
    return SessionRef(link_kind="case", external_id=case_id.lower())


def _id(payload: Json, name: str) -> str:
    value = str(payload.get(name) or "").strip().lower()
    if not value:
        raise WebhookRejected(f"the call has no {name}: check the body of the process's web service call")
    return value


async def on_new_activity(payload: Json, scope: Scope) -> list[InboundEvent] | str:
    """A rep added an activity on a case (process 1): its text reaches the visitor."""
    activity_id, case_id = _id(payload, "activityId"), _id(payload, "caseId")
    activity = await scope.client.read("Activity", activity_id, "Id,Title,Notes,CaseId,CreatedById")
    if activity is None or str(activity.get("CaseId") or "").lower() != case_id:
        raise WebhookRejected(f"Creatio has no activity {activity_id} on case {case_id}")
    title, notes = str(activity.get("Title") or ""), str(activity.get("Notes") or "")
    if title.startswith(TITLE_PREFIX):
        return f"activity {activity_id} is relaydesk's own"
    text = notes or title
    if str(payload.get("text") or "").strip() not in ("", text.strip()):
        raise WebhookRejected(f"the posted text differs from activity {activity_id} in Creatio")
    if not text.strip():
        return f"activity {activity_id} has no text"
    author = None
    if activity.get("CreatedById"):
        contact = await scope.client.read("Contact", str(activity["CreatedById"]), "Id,Name")
        author = str(contact.get("Name")) if contact and contact.get("Name") else None
    return [InboundEvent(f"activity:{activity_id}", "rep_message", _case_ref(case_id), text=text,
                         author_name=author)]


async def on_case_resolved(payload: Json, scope: Scope) -> list[InboundEvent] | str:
    """A case reached the resolved status (process 2): the session is resolved."""
    case_id = _id(payload, "caseId")
    case = await scope.client.read("Case", case_id, "Id,StatusId,ModifiedOn")
    if case is None:
        raise WebhookRejected(f"Creatio has no case {case_id}")
    status = str(case.get("StatusId") or "").lower()
    if not scope.resolved_status_id or status != scope.resolved_status_id.lower():
        return f"case {case_id} is in status {status or 'none'}, not the resolved status"
    return [InboundEvent(f"case:{case_id}:resolved:{case.get('ModifiedOn')}", "resolved", _case_ref(case_id))]


EVENT_HANDLERS: dict[str, Handler] = {
    "new_activity": on_new_activity,
    "case_resolved": on_case_resolved,
}


async def parse(body: bytes, scope: Scope) -> InboundBatch:
    """The events of one process call, each confirmed against Creatio."""
    payload = json_body(body, "set the web service's body to JSON")
    if not isinstance(payload, dict):
        raise WebhookRejected("the body is not a JSON object")
    kind = str(payload.get("event_type") or "")
    handler = EVENT_HANDLERS.get(kind)
    if handler is None:
        return InboundBatch(ignored=[f"unhandled event type {kind or '(none)'}"])
    outcome = await handler(payload, scope)
    return InboundBatch(ignored=[outcome]) if isinstance(outcome, str) else InboundBatch(events=outcome)
