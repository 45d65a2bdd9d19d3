"""CRM: contacts (create, read, search), tickets with associations, v4 associations, ticket pipelines, owners."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.auth import SandboxDep, require_scopes
from relaydesk.sandbox.hubspot.paging import collection, page
from relaydesk.sandbox.hubspot.sandbox import OBJECT_TYPE_ALIASES
from relaydesk.sandbox.hubspot.state import AccessToken, CrmObject

ContactReader = Annotated[AccessToken, Depends(require_scopes("crm.objects.contacts.read"))]
ContactWriter = Annotated[AccessToken, Depends(require_scopes("crm.objects.contacts.write"))]
TicketUser = Annotated[AccessToken, Depends(require_scopes("tickets"))]
OwnerReader = Annotated[AccessToken, Depends(require_scopes("crm.objects.owners.read"))]

router = APIRouter(tags=["crm"])


class AssociationType(BaseModel):
    """One association type of an inline association."""

    associationCategory: str
    associationTypeId: int


class AssociationInput(BaseModel):
    """PublicAssociationsForObject: the target record and the association types."""

    to: dict[str, str | int]
    types: list[AssociationType]


class ObjectInput(BaseModel):
    """SimplePublicObjectInputForCreate."""

    properties: dict[str, str | None]
    associations: list[AssociationInput] = []


class ObjectUpdate(BaseModel):
    """SimplePublicObjectInput."""

    properties: dict[str, str | None]


class SearchRequest(BaseModel):
    """PublicObjectSearchRequest (filters only; sorts and query are accepted and ignored)."""

    filterGroups: list[dict[str, Any]] = []
    properties: list[str] | None = None
    limit: int = Field(default=10, ge=1, le=200)
    after: str | int | None = None
    sorts: list[Any] = []


def _properties(raw: str | None) -> list[str] | None:
    return [p for p in raw.split(",") if p] if raw else None


def _with_associations(sandbox_obj: CrmObject, body: dict[str, Any], wanted: str | None, label: str) -> None:
    if not wanted:
        return
    shown: dict[str, Any] = {}
    for name in wanted.split(","):
        object_type = OBJECT_TYPE_ALIASES.get(name.strip().lower())
        if object_type is None:
            continue
        ids = sorted(sandbox_obj.associations.get(object_type, set()))
        singular = object_type.rstrip("s")
        shown[object_type] = {"results": [{"id": i, "type": f"{label}_to_{singular}"} for i in ids]}
    body["associations"] = shown


@router.post("/crm/v3/objects/contacts", status_code=201)
async def create_contact(body: ObjectInput, sandbox: SandboxDep, _: ContactWriter) -> dict[str, Any]:
    """Create a contact; an existing email answers 409 "Contact already exists. Existing ID: N".

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide.
    """
    return sandbox.create_contact(body.properties).to_json()


@router.get("/crm/v3/objects/contacts/{contactId}")
async def get_contact(
    contactId: str,
    sandbox: SandboxDep,
    _: ContactReader,
    idProperty: str | None = None,
    properties: str | None = None,
    associations: str | None = None,
) -> dict[str, Any]:
    """Read a contact by id, or by email with `idProperty=email`.

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide.
    """
    contact = sandbox.contact(contactId, idProperty)
    body = contact.to_json(_properties(properties))
    _with_associations(contact, body, associations, "contact")
    return body


@router.post("/crm/v3/objects/contacts/search")
async def search_contacts(
    request: Request, body: SearchRequest, sandbox: SandboxDep, _: ContactReader
) -> dict[str, Any]:
    """Search contacts with filter groups (EQ, NEQ, IN, HAS_PROPERTY, NOT_HAS_PROPERTY).

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/search/guide.
    """
    found = sandbox.search_contacts(body.filterGroups)
    after = None if body.after is None else str(body.after)
    results, paging = page(found, after, body.limit, request.url, maximum=200)
    if paging is not None:
        paging["next"].pop("link", None)
    return collection([c.to_json(body.properties) for c in results], paging, total=len(found))


@router.post("/crm/v3/objects/tickets", status_code=201)
async def create_ticket(body: ObjectInput, sandbox: SandboxDep, _: TicketUser) -> dict[str, Any]:
    """Create a ticket in a pipeline stage, associated inline (16 = ticket to contact, 32 = ticket to thread).

    Follows https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/tickets/guide.
    """
    associations = [a.model_dump() for a in body.associations]
    return sandbox.create_ticket(body.properties, associations).to_json()


@router.get("/crm/v3/objects/tickets/{ticketId}")
async def get_ticket(
    ticketId: str,
    sandbox: SandboxDep,
    _: TicketUser,
    properties: str | None = None,
    associations: str | None = None,
) -> dict[str, Any]:
    """Read a ticket, with the associations asked for.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/tickets/guide.
    """
    ticket = sandbox.ticket(ticketId)
    body = ticket.to_json(_properties(properties))
    _with_associations(ticket, body, associations, "ticket")
    return body


@router.patch("/crm/v3/objects/tickets/{ticketId}")
async def update_ticket(ticketId: str, body: ObjectUpdate, sandbox: SandboxDep, _: TicketUser) -> dict[str, Any]:
    """Change ticket properties (subject, content, priority, stage…).

    Follows https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/tickets/guide.
    """
    return sandbox.update_ticket(ticketId, body.properties).to_json()


@router.put("/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}/{toObjectId}")
async def associate(
    fromObjectType: str,
    fromObjectId: str,
    toObjectType: str,
    toObjectId: str,
    body: list[AssociationType],
    sandbox: SandboxDep,
    _: TicketUser,
) -> dict[str, Any]:
    """Associate a ticket with a contact or a conversation thread.

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/associations/overview.
    """
    if not body:
        raise errors.validation("Provide at least one association type")
    return sandbox.associate(fromObjectType, fromObjectId, toObjectType, toObjectId)


@router.get("/crm/v3/pipelines/tickets")
async def list_ticket_pipelines(sandbox: SandboxDep, _: TicketUser) -> dict[str, Any]:
    """List ticket pipelines and their stages (ids to use in hs_pipeline and hs_pipeline_stage).

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/pipelines/guide.
    """
    return {"results": sandbox.ticket_pipelines()}


@router.get("/crm/v3/pipelines/tickets/{pipelineId}")
async def get_ticket_pipeline(pipelineId: str, sandbox: SandboxDep, _: TicketUser) -> dict[str, Any]:
    """Read one ticket pipeline.

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/pipelines/guide.
    """
    found = next((p for p in sandbox.ticket_pipelines() if p["id"] == pipelineId), None)
    if found is None:
        raise errors.not_found(f"Pipeline {pipelineId} not found")
    return found


@router.get("/crm/v3/owners")
async def list_owners(
    request: Request,
    sandbox: SandboxDep,
    _: OwnerReader,
    email: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """List CRM owners (the users reps are), optionally by email.

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide.
    """
    owners = sandbox.owners(email)
    results, paging = page(owners, after, limit, request.url, default=100, maximum=500)
    return collection(results, paging)


@router.get("/crm/v3/owners/{ownerId}")
async def get_owner(ownerId: str, sandbox: SandboxDep, _: OwnerReader) -> dict[str, Any]:
    """Read one owner.

    Follows https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide.
    """
    found = next((o for o in sandbox.owners() if o["id"] == ownerId), None)
    if found is None:
        raise errors.not_found(f"Owner {ownerId} not found")
    return found
