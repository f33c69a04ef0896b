"""Rows of other domains (tubes, results, rounds, orders, designations) written directly, so the
health-code providers can be tested against exactly known facts."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from sqlalchemy.orm import Session

from fangkong.areas.models import RiskDesignation
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.models import Person
from fangkong.testing.models import ResultUpload, TestCampaign, Tube, TubeMember, TubeResult
from fangkong.vaccination.models import DoseRecord
from tests import places

_serial = itertools.count(1)


def campaign(
    session: Session, *, area_code: str, starts_at: datetime, ends_at: datetime, closed: bool
) -> TestCampaign:
    area = places.area(session, area_code)
    row = TestCampaign(
        name=f"round {next(_serial)}",
        area_id=area.id,
        area_path=area.path,
        starts_at=starts_at,
        ends_at=ends_at,
        status="closed" if closed else "open",
        max_pool_size=10,
        rule_ref=None,
        created_at=starts_at,
    )
    session.add(row)
    session.flush()
    return row


def tube(
    session: Session,
    people: list[Person],
    *,
    sampled_at: datetime,
    result: str | None,
    reported_at: datetime | None = None,
    campaign_id: int | None = None,
) -> Tube:
    """A tube with ``people`` in it and, when ``result`` is given, the lab's result."""
    barcode = f"HC{next(_serial):08d}"
    row = Tube(
        barcode=barcode,
        campaign_id=campaign_id,
        area_path=people[0].area_path,
        pool_size=max(len(people), 1),
        member_count=len(people),
        status="sealed",
        opened_at=sampled_at,
        sealed_at=sampled_at,
    )
    session.add(row)
    session.flush()
    for person in people:
        session.add(TubeMember(tube_id=row.id, person_id=person.id, sampled_at=sampled_at))
    if result is not None:
        upload = ResultUpload(
            content_sha256=f"{next(_serial):064d}",
            format="csv",
            filename="r.csv",
            uploaded_at=reported_at or sampled_at,
            accepted_count=1,
            stored_count=1,
            duplicate_count=0,
            unmatched_count=0,
            rejected_count=0,
            rejections=[],
        )
        session.add(upload)
        session.flush()
        session.add(
            TubeResult(
                idempotency_key=f"lab|{barcode}",
                upload_id=upload.id,
                tube_id=row.id,
                tube_barcode=barcode,
                lab_id="lab",
                message_id=barcode,
                result=result,
                loinc_code="94500-6",
                ct_values={},
                collected_at=sampled_at,
                received_at=None,
                reported_at=reported_at or sampled_at,
                stored_at=reported_at or sampled_at,
            )
        )
    session.flush()
    return row


def order(session: Session, person: Person, *, kind: str, since: datetime, status: str) -> None:
    session.add(
        IsolationOrder(
            person_id=person.id,
            household_id=person.household_id,
            area_path=person.area_path,
            category="close_contact",
            kind=kind,
            phase_index=0,
            anchor_at=since,
            phase_started_at=since,
            planned_end_at=since,
            status=status,
            pack_id="cn-9",
            pack_version=1,
            rule_id="iso.close",
            created_at=since,
            updated_at=since,
        )
    )
    session.flush()


def designation(
    session: Session,
    *,
    level: str,
    since: datetime,
    area_path: str,
    building_id: int | None = None,
    status: str = "confirmed",
) -> RiskDesignation:
    row = RiskDesignation(
        target_kind="building" if building_id is not None else "area",
        area_id=None,
        compound_id=None,
        building_id=building_id,
        unit=None,
        name="test",
        area_path=area_path,
        scope="place" if building_id is not None else "area",
        level=level,
        designated_level=level,
        level_since=since.date(),
        pending_level=None,
        controls=[],
        status=status,
        since=since,
        pack_id="cn-9",
        pack_version=1,
        rule_id=None,
        explanation=None,
        created_at=since,
        updated_at=since,
    )
    session.add(row)
    session.flush()
    return row


def dose(session: Session, person: Person, number: int, on: date, at: datetime) -> None:
    session.add(
        DoseRecord(
            person_id=person.id,
            product="511",
            dose_number=number,
            administered_on=on,
            site="site",
            lot_number=None,
            source="csv",
            recorded_at=at,
        )
    )
    session.flush()
