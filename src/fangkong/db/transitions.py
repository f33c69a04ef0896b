"""State transitions as atomic conditional updates (never check-then-act)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import FangkongError


class HasIdAndUpdatedAt(Protocol):
    id: Any
    updated_at: Any


def transition(
    session: Session,
    row: HasIdAndUpdatedAt,
    *,
    expect: Mapping[str, Any],
    conflict: FangkongError,
    **values: Any,
) -> None:
    """``UPDATE <table> SET values, updated_at=now WHERE id=row.id AND <expect>``; raises
    ``conflict`` unless exactly one row changed (someone else moved it first, or it is not in
    the expected state). ``row`` is refreshed afterwards."""
    model = type(row)
    stmt = update(model).where(model.id == row.id)
    for column, value in expect.items():
        attribute = getattr(model, column)
        stmt = stmt.where(attribute.is_(None) if value is None else attribute == value)
    result = session.execute(
        stmt.values(**values, updated_at=clock.now()).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict
    session.refresh(row)
