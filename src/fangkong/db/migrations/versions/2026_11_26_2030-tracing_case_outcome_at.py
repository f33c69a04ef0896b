"""tracing case outcome time

Revision ID: 7c2e91d4a0b3
Revises: ba3307f39f2d
Create Date: 2026-11-26 20:30:00

Cases already discharged or dead take the moment of the status change from the audit trail
(``tracing.case.status_changed`` to that status); a case with no such event (loaded in bulk)
takes its last change, which is all that was known before.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.db.base

revision: str = "7c2e91d4a0b3"
down_revision: str | None = "ba3307f39f2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDED = ("discharged", "died")


def upgrade() -> None:
    with op.batch_alter_table("tracing_case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome_at", fangkong.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    bind = op.get_bind()
    case = sa.table(
        "tracing_case",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("updated_at", fangkong.db.base.UTCDateTime(timezone=True)),
        sa.column("outcome_at", fangkong.db.base.UTCDateTime(timezone=True)),
    )
    event = sa.table(
        "audit_event",
        sa.column("occurred_at", fangkong.db.base.UTCDateTime(timezone=True)),
        sa.column("action", sa.String),
        sa.column("subject_type", sa.String),
        sa.column("subject_id", sa.String),
        sa.column("after", sa.JSON),
    )
    ended = {
        row[0]: row[1]
        for row in bind.execute(
            sa.select(case.c.id, case.c.status).where(case.c.status.in_(ENDED))
        ).all()
    }
    moments = {}
    rows = bind.execute(
        sa.select(event.c.subject_id, event.c.occurred_at, event.c.after).where(
            event.c.subject_type == "tracing_case",
            event.c.action == "tracing.case.status_changed",
        )
    ).all()
    for subject_id, occurred_at, after in rows:
        after = json.loads(after) if isinstance(after, str) else after
        case_id = int(subject_id)
        if after and after.get("status") == ended.get(case_id):
            moments[case_id] = occurred_at
    for case_id, moment in moments.items():
        bind.execute(sa.update(case).where(case.c.id == case_id).values(outcome_at=moment))
    bind.execute(
        sa.update(case)
        .where(case.c.status.in_(ENDED), case.c.outcome_at.is_(None))
        .values(outcome_at=case.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("tracing_case", schema=None) as batch_op:
        batch_op.drop_column("outcome_at")
