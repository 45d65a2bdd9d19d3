"""stream leases: long-running work (a helpdesk's event stream) held by exactly one process, with its cursor

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.String(200), nullable=True),
        sa.Column("data", JSON, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("secret", sa.Text(), nullable=False, server_default=""),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_stream_leases_open", "stream_leases", ["ended_at", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_stream_leases_open", table_name="stream_leases")
    op.drop_table("stream_leases")
