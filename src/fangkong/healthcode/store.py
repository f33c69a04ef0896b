"""Writing recomputed codes: read the stored rows of a batch, then store only what changed.

Set-based per batch: one insert of first codes, one conditional update per kind of write (new
code, refreshed explanation) run as one executemany, one insert of change rows and one chained
insert of audit events (``events.codes_changed``). Every write is conditional on the revision
read before the facts, so a row someone else wrote meanwhile is left alone and reported as
conflicted. Shared by the per-batch recomputes (``service``) and the full one (``full``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import String, Update, bindparam, cast, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.db import bulk
from fangkong.db.ids import among
from fangkong.healthcode import columns as fact_columns
from fangkong.healthcode import events
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.schemas import CodeDecision


class Stored(StrEnum):
    CHANGED = "changed"
    REFRESHED = "refreshed"
    UNCHANGED = "unchanged"
    CONFLICTED = "conflicted"


class StoredCode(NamedTuple):
    """What ``store_chunk`` compares and conditions on of a stored code."""

    person_id: int
    colour: str
    rule_id: str
    pack_id: str
    pack_version: int
    reasons: tuple[str, ...]
    valid_until: datetime | None
    revision: int


def stored_rows(session: Session, chunk: Sequence[int]) -> dict[int, StoredCode]:
    """The stored codes of ``chunk`` as the driver gives them, reasons as their JSON text and
    times as epoch microseconds: both decoded once per distinct value (a batch holds a few),
    not once per row."""
    dialect = session.get_bind().dialect
    rows = fact_columns.raw_rows(
        session,
        select(
            HealthCode.person_id,
            HealthCode.colour,
            HealthCode.rule_id,
            HealthCode.pack_id,
            HealthCode.pack_version,
            cast(HealthCode.reasons, String),
            fact_columns.epoch(HealthCode.valid_until, dialect.name),
            HealthCode.revision,
        ).where(among(HealthCode.person_id, chunk, dialect)),
    )
    reasons: dict[str, tuple[str, ...]] = {}
    times: dict[int, datetime | None] = {int(fact_columns.NO_TIME): None}
    stored = {}
    for pid, colour, rule_id, pack_id, version, text, until, revision in rows:
        if text not in reasons:
            reasons[text] = tuple(json.loads(text))
        if until not in times:
            times[until] = fact_columns.from_micros(until)
        stored[pid] = StoredCode(
            pid, colour, rule_id, pack_id, version, reasons[text], times[until], revision
        )
    return stored


def store_chunk(
    session: Session,
    chunk: Sequence[int],
    stored: Mapping[int, Any],
    decisions: Mapping[int, CodeDecision],
    outcomes: dict[Stored, list[int]],
) -> None:
    changes: list[events.CodeChange] = []
    first = [pid for pid in chunk if pid not in stored]
    inserted = _insert_absent(session, {pid: decisions[pid] for pid in first})
    for person_id in first:
        if person_id not in inserted:
            outcomes[Stored.CONFLICTED].append(person_id)
        else:
            changes.append(events.CodeChange(person_id, None, None, decisions[person_id]))
    writes: dict[bool, list[tuple[int, Any, CodeDecision]]] = {True: [], False: []}
    for person_id, row in stored.items():
        decision = decisions[person_id]
        kind = _kind_of_write(row, decision)
        if kind is None:
            outcomes[Stored.UNCHANGED].append(person_id)
        else:
            writes[kind].append((person_id, row, decision))
    for is_new_code, batch in writes.items():
        written = _update_all(session, batch, is_new_code=is_new_code)
        for person_id, row, decision in batch:
            if person_id not in written:
                outcomes[Stored.CONFLICTED].append(person_id)
            elif not is_new_code:
                outcomes[Stored.REFRESHED].append(person_id)
            else:
                changes.append(events.CodeChange(person_id, row.colour, _ref_of(row), decision))
    changes.sort(key=lambda change: change.person_id)
    events.codes_changed(session=session, changes=changes)
    outcomes[Stored.CHANGED].extend(change.person_id for change in changes)


def _ref_of(row: Any) -> str:
    return f"{row.pack_id}@{row.pack_version}#{row.rule_id}"


def _kind_of_write(row: Any, decision: CodeDecision) -> bool | None:
    """None when the stored code already says what ``decision`` says; True for a new code
    (colour or deciding rule changed: a change row and an event); False for a refresh."""
    # A new pack version that keeps the colour and the rule (hc.no_risk under cn-9, then under
    # cn-20) is not a new code: it would otherwise write an event for every person at once.
    is_new_code = bool(row.colour != decision.colour or row.rule_id != decision.rule_id)
    is_same_explanation = (
        row.rule_id == decision.rule_id
        and row.pack_id == decision.pack_id
        and row.pack_version == decision.pack_version
        and list(row.reasons) == list(decision.reasons)
        and row.valid_until == decision.valid_until
    )
    if not is_new_code and is_same_explanation:
        return None
    return is_new_code


def _values(decision: CodeDecision) -> dict[str, Any]:
    return {
        "colour": decision.colour,
        "rule_id": decision.rule_id,
        "pack_id": decision.pack_id,
        "pack_version": decision.pack_version,
        "reasons": list(decision.reasons),
        "valid_until": decision.valid_until,
    }


def _insert_absent(session: Session, decisions: Mapping[int, CodeDecision]) -> set[int]:
    """Insert first codes in one statement, skipping rows a concurrent recompute inserted
    first; returns the person ids actually inserted (RETURNING works the same on both
    dialects, where rowcount of a skipped row does not)."""
    if not decisions:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"person_id": pid, "decided_at": d.evaluated_at, "revision": 1, **_values(d)}
        for pid, d in decisions.items()
    ]
    stmt = (
        insert(HealthCode)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["person_id"])
        .returning(HealthCode.person_id)
    )
    return set(session.execute(stmt).scalars())


def _conditional_update(*, new_code: bool) -> Update:
    """``UPDATE health_code SET ... WHERE person_id=:pid AND revision=:seen``, built once and
    executed with parameters (building and caching a statement per person cost more than
    running it)."""
    table = HealthCode.__table__
    values: dict[str, Any] = {
        "revision": HealthCode.revision + 1,
        **{name: bindparam(f"v_{name}", type_=table.c[name].type) for name in VALUE_COLUMNS},
    }
    if new_code:
        values["decided_at"] = bindparam("v_decided_at", type_=table.c["decided_at"].type)
    return (
        update(HealthCode)
        .where(HealthCode.person_id == bindparam("pid"), HealthCode.revision == bindparam("seen"))
        .values(**values)
    )


VALUE_COLUMNS = ("colour", "rule_id", "pack_id", "pack_version", "reasons", "valid_until")
UPDATES = {new_code: _conditional_update(new_code=new_code) for new_code in (True, False)}


def _params(person_id: int, seen_revision: int, decision: CodeDecision) -> dict[str, Any]:
    return {
        "pid": person_id,
        "seen": seen_revision,
        "v_colour": decision.colour,
        "v_rule_id": decision.rule_id,
        "v_pack_id": decision.pack_id,
        "v_pack_version": decision.pack_version,
        # The tuple itself (encoded as a JSON array): ``bulk`` encodes each distinct one once.
        "v_reasons": decision.reasons,
        "v_valid_until": decision.valid_until,
        "v_decided_at": decision.evaluated_at,
    }


def _update_all(
    session: Session,
    batch: Sequence[tuple[int, Any, CodeDecision]],
    *,
    is_new_code: bool,
) -> set[int]:
    """Conditional updates of a batch in one executemany; returns the person ids written.

    The drivers report the summed row count of an executemany, not which rows matched. When it
    falls short (someone wrote some of the rows since they were read, which is rare), the batch
    is undone to a savepoint and applied row by row, to learn which rows to recompute again."""
    if not batch:
        return set()
    statement = UPDATES[is_new_code]
    params = [_params(pid, row.revision, decision) for pid, row, decision in batch]
    if not is_new_code:
        for item in params:
            del item["v_decided_at"]
    connection = session.connection()
    savepoint = connection.begin_nested()
    if bulk.execute_many(connection, statement, params) == len(params):
        savepoint.commit()
        return {pid for pid, _, _ in batch}
    savepoint.rollback()
    return {item["pid"] for item in params if connection.execute(statement, item).rowcount == 1}
