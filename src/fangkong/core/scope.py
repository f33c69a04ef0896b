"""The caller and the one helper that scopes every query to the caller's jurisdiction.

A jurisdiction is an area subtree, named by the area's materialised path (``/43/4302/430203/``):
everything whose path starts with it is inside. Residents have no area subtree; they see only
themselves and their household. Every service that lists or fetches people or places passes its
query through :func:`scope_to_jurisdiction`, so there is exactly one place where the rule lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_

from fangkong.core.errors import CoreErrorCode, PermissionDenied

T = TypeVar("T", bound=tuple[Any, ...])


def path_upper_bound(prefix: str) -> str:
    """The smallest string above every path that starts with ``prefix`` (which ends in '/')."""
    if not prefix.endswith("/"):
        raise ValueError(f"an area path ends with '/': {prefix!r}")
    return prefix[:-1] + chr(ord("/") + 1)


def within_path(column: ColumnElement[str] | Any, prefix: str) -> ColumnElement[bool]:
    """``column`` lies in the subtree ``prefix``, as an index-friendly range on both databases
    (a ``LIKE 'prefix%'`` is not served by SQLite's index under its default case-folding LIKE)."""
    return and_(column >= prefix, column < path_upper_bound(prefix))


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough to authorise and to write the audit trail."""

    user_id: int
    username: str
    role: str
    permissions: frozenset[str]
    jurisdiction_path: str | None = None
    person_id: int | None = None
    household_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(
                CoreErrorCode.PERMISSION_DENIED,
                f"your role ({self.role}) does not allow {permission}",
            )

    def covers_path(self, path: str) -> bool:
        """Whether an area path lies inside this actor's jurisdiction."""
        return self.jurisdiction_path is not None and path.startswith(self.jurisdiction_path)

    def require_path(self, path: str) -> None:
        if not self.covers_path(path):
            raise PermissionDenied(
                CoreErrorCode.OUTSIDE_JURISDICTION, "this is outside your jurisdiction"
            )


def scope_to_jurisdiction(
    stmt: Select[T],
    *,
    actor: Actor,
    path_column: ColumnElement[str] | Any,
    person_column: ColumnElement[int] | Any | None = None,
    household_column: ColumnElement[int] | Any | None = None,
) -> Select[T]:
    """Restrict ``stmt`` to rows inside ``actor``'s jurisdiction.

    ``path_column`` is the row's area path. For residents (no area jurisdiction) the row must be
    theirs (``person_column``) or their household's (``household_column``); with neither column
    given a resident sees nothing.
    """
    if actor.jurisdiction_path is not None:
        return stmt.where(within_path(path_column, actor.jurisdiction_path))
    conditions = []
    if person_column is not None and actor.person_id is not None:
        conditions.append(person_column == actor.person_id)
    if household_column is not None and actor.household_id is not None:
        conditions.append(household_column == actor.household_id)
    if not conditions:
        return stmt.where(false())
    return stmt.where(or_(*conditions))
