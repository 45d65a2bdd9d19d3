"""The tables of helpdesk integrations: a workspace's connection to a helpdesk, and the webhooks it has received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.core.models import Base, BigId, Json, UTCDateTime, new_id, utcnow


class Integration(Base):
    """A workspace's connection to one helpdesk: non-secret settings, encrypted secrets, and where it stands."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("workspace_id", "connector", name="uq_integrations_workspace_connector"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    connector: Mapped[str] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    secrets: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="inactive")
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    webhook_secret: Mapped[str] = mapped_column(String(64))
    is_handoff_target: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InboundReceipt(Base):
    """One provider event received by an integration's webhook; its (integration, event id) pair is unique."""

    __tablename__ = "inbound_receipts"
    __table_args__ = (UniqueConstraint("integration_id", "event_id", name="uq_inbound_receipts_event"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(200), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
