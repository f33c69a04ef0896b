"""testing: the sampling scan intake (append-only, applied later)

Revision ID: 5c1e8a3d7f20
Revises: 3f7a2c9e1b64
Create Date: 2026-11-26 23:00:00

Scans sent through the fast lane are appended here and acknowledged once committed; the
applier fills the outcome columns (docs/testing.md "The scan intake").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.db.base

revision: str = "5c1e8a3d7f20"
down_revision: str | None = "3f7a2c9e1b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sampling_intake",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_scan_id", sa.String(length=64), nullable=False),
        sa.Column("tube_barcode", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("person_ids", sa.JSON(), nullable=False),
        sa.Column("id_lookup_keys", sa.JSON(), nullable=False),
        sa.Column("scanned_at", fangkong.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", fangkong.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("scan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("applied_at", fangkong.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["sampling_scan.id"],
            name=op.f("fk_sampling_intake_scan_id_sampling_scan"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_sampling_intake_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_intake")),
        sa.UniqueConstraint(
            "user_id", "client_scan_id", name=op.f("uq_sampling_intake_user_id_client_scan_id")
        ),
    )
    op.create_index(
        "ix_sampling_intake_pending",
        "sampling_intake",
        ["id"],
        unique=False,
        sqlite_where=sa.text("outcome IS NULL"),
        postgresql_where=sa.text("outcome IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_sampling_intake_pending",
        table_name="sampling_intake",
        sqlite_where=sa.text("outcome IS NULL"),
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.drop_table("sampling_intake")
