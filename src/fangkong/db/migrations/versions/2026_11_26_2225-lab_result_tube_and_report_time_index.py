"""testing: index lab results by tube and report time

Revision ID: 3f7a2c9e1b64
Revises: cbbc3cff2262
Create Date: 2026-11-26 22:25:00

A tube's latest result is joined on (tube, report time). With only single-column indexes SQLite's
planner picked the report-time index for that join (added for the command centre's daily
figures), which made reading people's samples for their health codes about three times slower.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f7a2c9e1b64"
down_revision: str | None = "cbbc3cff2262"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_lab_result_tube_id_reported_at", "lab_result", ["tube_id", "reported_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_lab_result_tube_id_reported_at", table_name="lab_result")
