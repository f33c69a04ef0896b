"""vaccination level per person, for coverage in one index pass

Revision ID: 5b1e7c0d9a24
Revises: e63f02ad8e3f
Create Date: 2026-11-26 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e7c0d9a24"
down_revision: str | None = "e63f02ad8e3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The course lengths as they stood when this revision was written (CVX code → primary doses),
# frozen so the backfill does not change meaning with later edits of ``products.py``; a later
# product change recomputes with ``fangkong vaccination rebuild-levels``.
_COURSE = {"510": 2, "511": 2, "506": 1, "507": 3}
_DEFAULT_COURSE = 2

# Every person's level from their doses, as ``vaccination.levels`` computes it: correlated
# subqueries, which both databases accept in an UPDATE (SQLite's UPDATE … FROM is newer).
_BACKFILL = f"""
UPDATE person SET vaccination_level = (
    SELECT CASE
        WHEN MAX(d.dose_number) IS NULL THEN 0
        WHEN MAX(d.dose_number) < COALESCE(MAX(CASE WHEN d.dose_number = 1 THEN
            CASE d.product {" ".join(f"WHEN '{code}' THEN {n}" for code, n in _COURSE.items())}
            ELSE {_DEFAULT_COURSE} END END), {_DEFAULT_COURSE}) THEN 1
        WHEN MAX(d.dose_number) = COALESCE(MAX(CASE WHEN d.dose_number = 1 THEN
            CASE d.product {" ".join(f"WHEN '{code}' THEN {n}" for code, n in _COURSE.items())}
            ELSE {_DEFAULT_COURSE} END END), {_DEFAULT_COURSE}) THEN 2
        ELSE 3 END
    FROM dose_record d WHERE d.person_id = person.id
)
WHERE EXISTS (SELECT 1 FROM dose_record d WHERE d.person_id = person.id)
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vaccination_level", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            "ix_person_vaccination_coverage",
            ["status", "area_path", "vaccination_level", "birth_date"],
            unique=False,
        )
    op.execute(_BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_vaccination_coverage")
        batch_op.drop_column("vaccination_level")
