"""Journeys: passenger manifests imported from carriers, journeys a case reports, and who else
was aboard a case's journey."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.registry import service as registry_service
from fangkong.registry.persons import find_by_id_number
from fangkong.tracing.enums import JourneySource, TransportMode, TravellerRole
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Journey
from fangkong.tracing.transport import Journey as Service
from fangkong.tracing.transport import (
    JourneyProblem,
    JourneyRecord,
    Traveller,
    check_journey,
)

MANIFEST_COLUMNS = ("mode", "number", "service_date")


@dataclass
class ManifestImported:
    """What an import did: rows stored, rows already on record, and every refused row (0-based,
    header excluded) with the field at fault."""

    stored: int = 0
    already: int = 0
    rejected: list[JourneyProblem] = field(default_factory=list)


def _key(record: JourneyRecord, person_id: int) -> tuple[str, str, object, int]:
    journey = record.journey
    return (str(journey.mode), journey.number, journey.service_date, person_id)


def find_journey(*, session: Session, record: JourneyRecord, person_id: int) -> Journey | None:
    mode, number, service_date, _ = _key(record, person_id)
    return session.scalars(
        select(Journey).where(
            Journey.mode == mode,
            Journey.number == number,
            Journey.service_date == service_date,
            Journey.person_id == person_id,
        )
    ).one_or_none()


def record_journey(
    *,
    session: Session,
    actor: Actor | None,
    record: JourneyRecord,
    person_id: int,
    source: JourneySource,
) -> tuple[Journey, bool]:
    """Store one journey unless the person is on record for that service already; returns the
    row and whether it is new. Two imports racing on the same row keep one (the unique key)."""
    existing = find_journey(session=session, record=record, person_id=person_id)
    if existing is not None:
        return existing, False
    journey = Journey(
        person_id=person_id,
        mode=str(record.journey.mode),
        number=record.journey.number,
        service_date=record.journey.service_date,
        role=str(record.role),
        carriage=record.carriage,
        seat=record.seat,
        boarded_at=record.boarded_at.astimezone(UTC) if record.boarded_at else None,
        source=str(source),
        created_by_user_id=actor.user_id if actor else None,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(journey)
            session.flush()
    except IntegrityError:
        found = find_journey(session=session, record=record, person_id=person_id)
        assert found is not None
        return found, False
    return journey, True


def _person_of(session: Session, record: JourneyRecord) -> int | None:
    if record.person_id is not None:
        known = registry_service.existing_person_ids(session=session, ids={record.person_id})
        return record.person_id if known else None
    assert record.id_number is not None
    person = find_by_id_number(session=session, number=record.id_number)
    return person.id if person is not None else None


def import_manifest(*, session: Session, path: Path, actor: Actor | None) -> ManifestImported:
    """Load a carrier's passenger manifest (``.csv``: ``mode``, ``number``, ``service_date``,
    ``person_id`` or ``id_number``; optionally ``role``, ``carriage``, ``seat``,
    ``boarded_at``). Good rows are stored, rows on record already counted, bad rows reported;
    one audit event. The caller commits."""
    if path.suffix.lower() != ".csv":
        raise FangkongError(
            TracingErrorCode.IMPORT_FORMAT_UNKNOWN,
            "passenger manifests are imported from .csv files",
            field="file",
        )
    result = ManifestImported()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        names = reader.fieldnames or []
        missing = [name for name in MANIFEST_COLUMNS if name not in names]
        if "person_id" not in names and "id_number" not in names:
            missing.append("person_id or id_number")
        if missing:
            raise FangkongError(
                TracingErrorCode.IMPORT_COLUMNS_MISSING,
                f"the file lacks the columns {', '.join(missing)}",
                field="file",
            )
        for index, row in enumerate(reader):
            checked = check_journey(row, index=index)
            if isinstance(checked, JourneyProblem):
                result.rejected.append(checked)
                continue
            person_id = _person_of(session, checked)
            if person_id is None:
                result.rejected.append(JourneyProblem(index, "person_id", "no such person"))
                continue
            _, new = record_journey(
                session=session,
                actor=actor,
                record=checked,
                person_id=person_id,
                source=JourneySource.MANIFEST,
            )
            if new:
                result.stored += 1
            else:
                result.already += 1
    audit.record(
        session=session,
        actor=actor,
        action="tracing.manifest_imported",
        subject_type="passenger_manifest",
        subject_id=path.name,
        after={
            "stored": result.stored,
            "already": result.already,
            "rejected": len(result.rejected),
        },
        rule_ref=None if actor else "tracing.import",
    )
    return result


def service_of(journey: Journey) -> Service:

    return Service(TransportMode(journey.mode), journey.number, journey.service_date)


def traveller(journey: Journey) -> Traveller:

    return Traveller(
        person_id=journey.person_id,
        role=TravellerRole(journey.role),
        carriage=journey.carriage,
        seat=journey.seat,
        boarded_at=journey.boarded_at,
        journey_id=journey.id,
    )


def aboard(*, session: Session, journey: Journey) -> list[Journey]:
    """Everyone else on record for the same service (one index range on the unique key)."""
    return list(
        session.scalars(
            select(Journey)
            .where(
                Journey.mode == journey.mode,
                Journey.number == journey.number,
                Journey.service_date == journey.service_date,
                Journey.person_id != journey.person_id,
            )
            .order_by(Journey.person_id)
        )
    )
