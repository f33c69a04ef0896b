"""command snapshot reserve warning

Revision ID: b3f06a9c1d27
Revises: 9d41c7e2b5a8
Create Date: 2026-11-26 21:05:00

Snapshots written before this revision had no reserve warning; they read as "not short" until the
next refresh (which the daily job and ``fangkong command refresh`` do).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3f06a9c1d27"
down_revision: str | None = "9d41c7e2b5a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("command_area_snapshot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reserve_short", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("reserve_explanation", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("command_area_snapshot", schema=None) as batch_op:
        batch_op.alter_column("reserve_short", server_default=None)
        batch_op.alter_column("reserve_explanation", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("command_area_snapshot", schema=None) as batch_op:
        batch_op.drop_column("reserve_explanation")
        batch_op.drop_column("reserve_short")
