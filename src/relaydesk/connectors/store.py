"""Integrations at rest: settings, encrypted secrets and status; building a connector; a session's trace."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx2
import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.connectors.base import Connector, ConnectorContext, ExternalRef, SessionSnapshot, integration_key
from relaydesk.connectors.registry import connector_class
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.integrations import Integration
from relaydesk.core.models import Contact, ExternalLink, Handoff, utcnow
from relaydesk.crypto import SecretBox

log = structlog.get_logger(__name__)

SENDING_STATUSES = ("active", "error")  # an integration in error still queues work, to be retried after the fix


def session_url(public_url: str, session_id: str) -> str:
    """Where a rep opens a session in relaydesk's dashboard."""
    return f"{public_url.rstrip('/')}/app/sessions/{session_id}"


async def handoff_target(tx: AsyncSession, workspace_id: str) -> Integration | None:
    """The workspace's integration that handed-off sessions go to, if one is connected."""
    query = select(Integration).where(
        Integration.workspace_id == workspace_id,
        Integration.is_handoff_target,
        Integration.status.in_(SENDING_STATUSES),
    )
    return (await tx.scalars(query.limit(1))).first()


class IntegrationStore:
    """Reads and writes integrations; secrets are encrypted with the runtime's SecretBox and never leave decrypted
    except into a connector's context."""

    def __init__(self, db: Database, box: SecretBox, public_url: str) -> None:
        self.db = db
        self.box = box
        self.public_url = public_url.rstrip("/")

    async def list(self, workspace_id: str) -> list[Integration]:
        async with self.db.read() as db:
            rows = await db.scalars(
                select(Integration).where(Integration.workspace_id == workspace_id).order_by(Integration.connector)
            )
            return list(rows.all())

    async def find(self, workspace_id: str, connector: str) -> Integration | None:
        async with self.db.read() as db:
            query = select(Integration).where(
                Integration.workspace_id == workspace_id, Integration.connector == connector
            )
            return (await db.scalars(query)).first()

    async def by_id(self, integration_id: str) -> Integration | None:
        async with self.db.read() as db:
            return await db.get(Integration, integration_id)

    def secrets(self, integration: Integration) -> dict[str, str]:
        if not integration.secrets:
            return {}
        stored: dict[str, str] = json.loads(self.box.decrypt(integration.secrets))
        return stored

    def webhook_url(self, integration: Integration) -> str:
        """The address to give the helpdesk; the key in it is the integration's own secret."""
        return (
            f"{self.public_url}/webhooks/{integration.connector}/{integration.id}?key={integration.webhook_secret}"
        )

    async def save(
        self,
        workspace_id: str,
        connector: str,
        *,
        settings: dict[str, Any],
        secret_values: dict[str, str],
        is_handoff_target: bool,
        status: str,
        reason: str | None,
    ) -> Integration:
        """Create or update a workspace's integration with one connector; one handoff target per workspace."""
        now = utcnow()
        async with self.db.transaction() as tx:
            integration = (
                await tx.scalars(
                    select(Integration).where(
                        Integration.workspace_id == workspace_id, Integration.connector == connector
                    )
                )
            ).first()
            if integration is None:
                integration = Integration(
                    workspace_id=workspace_id, connector=connector, webhook_secret=secrets.token_urlsafe(24)
                )
                tx.add(integration)
            kept = self.secrets(integration) if integration.secrets else {}
            integration.settings = settings
            integration.secrets = self.box.encrypt(json.dumps({**kept, **secret_values}))
            integration.status, integration.status_reason, integration.status_at = status, reason, now
            integration.is_handoff_target = is_handoff_target
            integration.updated_at = now
            await tx.flush()
            if is_handoff_target:
                await tx.execute(
                    update(Integration)
                    .where(Integration.workspace_id == workspace_id, Integration.id != integration.id)
                    .values(is_handoff_target=False)
                )
        return integration

    async def set_status(self, integration_id: str, status: str, reason: str | None) -> None:
        """Record where an integration stands, and since when (unchanged status keeps its time)."""
        async with self.db.transaction() as tx:
            integration = await tx.get(Integration, integration_id)
            if integration is None:
                return
            if (integration.status, integration.status_reason) != (status, reason):
                integration.status, integration.status_reason, integration.status_at = status, reason, utcnow()
        log.info("integration.status", integration_id=integration_id, status=status, reason=reason)

    async def update_secrets(self, integration_id: str, values: dict[str, str]) -> None:
        async with self.db.transaction() as tx:
            integration = await tx.get(Integration, integration_id)
            if integration is None:
                raise NotFound(f"no integration {integration_id}")
            integration.secrets = self.box.encrypt(json.dumps({**self.secrets(integration), **values}))
            integration.updated_at = utcnow()

    async def update_settings(self, integration_id: str, values: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            integration = await tx.get(Integration, integration_id)
            if integration is None:
                raise NotFound(f"no integration {integration_id}")
            integration.settings = {**integration.settings, **values}
            integration.updated_at = utcnow()

    async def delete(self, integration: Integration) -> None:
        async with self.db.transaction() as tx:
            found = await tx.get(Integration, integration.id)
            if found is not None:
                await tx.delete(found)

    def connector(
        self,
        integration: Integration,
        http: httpx2.AsyncClient,
        *,
        settings: dict[str, Any] | None = None,
        secret_values: dict[str, str] | None = None,
    ) -> Connector:
        """A connector bound to an integration, optionally with unsaved settings (to check them before saving)."""
        cls = connector_class(integration.connector)
        stored_secrets = self.secrets(integration) if secret_values is None else secret_values
        values = {**(integration.settings if settings is None else settings), **stored_secrets}
        fields = cls.settings_model.model_fields
        model = cls.settings_model.model_validate({k: v for k, v in values.items() if k in fields})
        persisted = integration.id is not None and settings is None and secret_values is None

        async def save_secrets(new: dict[str, str]) -> None:
            stored_secrets.update(new)
            if persisted:
                await self.update_secrets(integration.id, new)

        async def report_problem(reason: str) -> None:
            if persisted:
                await self.set_status(integration.id, "error", reason)

        context = ConnectorContext(
            connector=integration.connector,
            integration_id=integration.id or f"unsaved-{secrets.token_hex(6)}",
            workspace_id=integration.workspace_id,
            settings=model,
            secrets=stored_secrets,
            http=http,
            public_url=self.public_url,
            webhook_url=self.webhook_url(integration),
            save_secrets=save_secrets,
            report_problem=report_problem,
        )
        return cls(context)

    async def snapshot(self, conversations: Conversations, workspace_id: str, session_id: str) -> SessionSnapshot:
        """The session, its contact and its latest handoff, as a connector sees them."""
        session = await conversations.get_session(workspace_id, session_id)
        contact = await conversations.get_contact(workspace_id, session.contact_id)
        async with self.db.read() as db:
            handoff = (
                await db.scalars(
                    select(Handoff).where(Handoff.session_id == session_id).order_by(Handoff.created_at.desc())
                )
            ).first()
        return SessionSnapshot(session, contact, handoff, session_url(self.public_url, session_id))

    async def trace(
        self, conversations: Conversations, snapshot: SessionSnapshot, key: str, operation: str
    ) -> DbTrace:
        async with self.db.read() as db:
            rows = await db.scalars(
                select(ExternalLink).where(
                    ExternalLink.session_id == snapshot.id, ExternalLink.integration == key
                )
            )
            links = {row.kind: ExternalRef(row.kind, row.external_id, row.url) for row in rows}
        return DbTrace(self.db, conversations, snapshot, key, links, operation)


class DbTrace:
    """A session's trace to one integration's objects, kept as external links and the contact's external ids."""

    def __init__(
        self,
        db: Database,
        conversations: Conversations,
        snapshot: SessionSnapshot,
        key: str,
        links: dict[str, ExternalRef],
        operation: str,
    ) -> None:
        self.db = db
        self.operation = operation
        self.conversations = conversations
        self.snapshot = snapshot
        self.key = key
        self.links = links
        self._contact_id = (snapshot.contact.external_ids or {}).get(key)

    def get(self, kind: str) -> ExternalRef | None:
        return self.links.get(kind)

    async def add(self, kind: str, external_id: str, url: str | None) -> ExternalRef:
        existing = self.links.get(kind)
        if existing is not None and existing.external_id == external_id:
            return existing
        ref = ExternalRef(kind, external_id, url)
        try:
            await self.conversations.add_link(
                self.snapshot.session.workspace_id,
                self.snapshot.id,
                integration=self.key,
                kind=kind,
                external_id=external_id,
                url=url,
            )
        except IntegrityError:
            log.info("trace.link_exists", session_id=self.snapshot.id, kind=kind, external_id=external_id)
        self.links[kind] = ref
        return ref

    @property
    def contact_external_id(self) -> str | None:
        return self._contact_id

    async def remember_contact(self, external_id: str) -> None:
        async with self.db.transaction() as tx:
            contact = await tx.get(Contact, self.snapshot.contact.id)
            if contact is not None:
                contact.external_ids = {**(contact.external_ids or {}), self.key: external_id}
        self._contact_id = external_id


def key_of(integration: Integration) -> str:
    return integration_key(integration.connector, integration.id)
