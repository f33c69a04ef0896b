"""The authorization matrix: anonymous / wrong role / wrong jurisdiction / allowed.

Every refused call must leave the database exactly as it was; :func:`snapshot` reads every row
of every table so the helper can prove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.db.base import Base
from fangkong.db.models import import_all_models

import_all_models()


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    session.flush()
    state = {}
    for table in Base.metadata.sorted_tables:
        rows = session.execute(select(table)).all()
        state[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return state


@dataclass(frozen=True)
class Refusal:
    label: str
    headers: dict[str, str]
    status: int
    code: str


def assert_authorization_matrix(
    *,
    client: TestClient,
    session: Session,
    method: str,
    url: str,
    refusals: list[Refusal],
    allowed_headers: dict[str, str],
    allowed_status: int,
    json: Any = None,
    check_allowed: Callable[[Any], None] | None = None,
) -> None:
    """Each refusal gets its status and code and changes nothing; the allowed call succeeds."""
    for refusal in refusals:
        before = snapshot(session)
        response = client.request(method, url, json=json, headers=refusal.headers)
        assert (response.status_code, response.json()["code"]) == (refusal.status, refusal.code), (
            refusal.label,
            response.text,
        )
        assert snapshot(session) == before, f"{refusal.label}: a refused call changed data"
    response = client.request(method, url, json=json, headers=allowed_headers)
    assert response.status_code == allowed_status, response.text
    if check_allowed is not None:
        check_allowed(response.json())
