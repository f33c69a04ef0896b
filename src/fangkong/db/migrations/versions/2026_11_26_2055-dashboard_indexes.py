"""tube outcome result time and isolation order room indexes

Revision ID: 9d41c7e2b5a8
Revises: 55108810edff
Create Date: 2026-11-26 20:55:00

The command dashboard's turnaround panel reads the results of the last 24 hours of a whole city;
by area alone that is every result the city ever had. Its bed panel counts the active orders in
a room and the centralised ones still waiting for one; by area alone that is every order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9d41c7e2b5a8"
down_revision: str | None = "55108810edff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tube_outcome", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tube_outcome_result_at",
            ["result_at", "area_path", "turnaround_seconds"],
            unique=False,
        )
    with op.batch_alter_table("isolation_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_isolation_order_status_room",
            ["status", "room_id", "kind", "area_path"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("isolation_order", schema=None) as batch_op:
        batch_op.drop_index("ix_isolation_order_status_room")
    with op.batch_alter_table("tube_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_tube_outcome_result_at")
