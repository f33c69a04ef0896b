"""testing: queue of result runs still to be folded into the per-person test summaries

Revision ID: 8d2f6b1c4e93
Revises: 7c4d1e9a2b58
Create Date: 2026-11-27 00:20:00

Applying a round's results now only queues its run; ``fangkong testing fold-summaries`` and the
nightly recompute move the summaries forward (``fangkong.testing.summary.fold_backlog``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.db.base

revision: str = "8d2f6b1c4e93"
down_revision: str | None = "7c4d1e9a2b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_test_summary_backlog",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("queued_at", fangkong.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_person_test_summary_backlog")),
    )


def downgrade() -> None:
    op.drop_table("person_test_summary_backlog")
