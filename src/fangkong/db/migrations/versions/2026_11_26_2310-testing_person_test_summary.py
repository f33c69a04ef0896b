"""testing: per-person test summary for the health-code recompute of a whole city

Revision ID: 7c4d1e9a2b58
Revises: 5c1e8a3d7f20
Create Date: 2026-11-26 23:10:00

One row per sampled person (latest sample, latest negative, round of the latest round sample,
the rounds ever attended as bits of id % 63, latest positive pool), back-filled here from the
samples in one ``INSERT … SELECT``; the platform keeps it from then on
(``fangkong.testing.summary``), and ``fangkong testing rebuild-summary`` recomputes it after
samples were loaded in bulk.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangkong.db.base

revision: str = "7c4d1e9a2b58"
down_revision: str | None = "5c1e8a3d7f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _epoch(value: str, dialect: str) -> str:
    """``value`` as integer microseconds since the epoch, as ``summary.epoch_us`` computes it."""
    if dialect == "postgresql":
        return f"CAST(extract(epoch FROM {value}) * 1000000 AS BIGINT)"
    return (
        f"CAST(strftime('%s', {value}) AS INTEGER) * 1000000"
        f" + CAST(substr({value}, 21, 6) AS INTEGER)"
    )


# How SQLite stores a UTC datetime here ('YYYY-MM-DD HH:MM:SS.ffffff').
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%S.000000', 'now')"


def _backfill(dialect: str) -> str:
    negative = "CASE WHEN r.result = 'not_detected' THEN m.sampled_at END"
    pool = "CASE WHEN t.member_count > 1 AND r.result = 'detected' THEN m.sampled_at END"
    return f"""
INSERT INTO person_test_summary (person_id, last_sampled_us, last_negative_us, last_campaign_id,
    round_bits, pool_positive_us, updated_at)
SELECT m.person_id,
    {_epoch("max(m.sampled_at)", dialect)},
    {_epoch(f"max({negative})", dialect)},
    (SELECT lt.campaign_id FROM tube_member lm JOIN tube lt ON lt.id = lm.tube_id
        WHERE lm.person_id = m.person_id AND lt.campaign_id IS NOT NULL
        ORDER BY lm.sampled_at DESC, lt.campaign_id DESC LIMIT 1),
    CAST(COALESCE(SUM(DISTINCT CASE WHEN t.campaign_id IS NOT NULL
        THEN CAST(1 AS BIGINT) << (t.campaign_id % 63) END), 0) AS BIGINT),
    {_epoch(f"max({pool})", dialect)},
    {"CURRENT_TIMESTAMP" if dialect == "postgresql" else _SQLITE_NOW}
FROM tube_member m
JOIN tube t ON t.id = m.tube_id
LEFT JOIN (SELECT tube_id, max(reported_at) AS reported_at FROM lab_result GROUP BY tube_id) lr
    ON lr.tube_id = m.tube_id
LEFT JOIN lab_result r ON r.tube_id = m.tube_id AND r.reported_at = lr.reported_at
GROUP BY m.person_id
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.create_table(
        "person_test_summary",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("last_sampled_us", sa.BigInteger(), nullable=False),
        sa.Column("last_negative_us", sa.BigInteger(), nullable=True),
        sa.Column("last_campaign_id", sa.Integer(), nullable=True),
        sa.Column("round_bits", sa.BigInteger(), nullable=False),
        sa.Column("pool_positive_us", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", fangkong.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_test_summary")),
    )
    op.execute(_backfill(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table("person_test_summary")
