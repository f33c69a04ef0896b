"""The platform steps a drill drives, in one place.

Every function here works only from what the platform stores (lab results, tubes, scans,
cases, investigations and contacts, isolation orders and their tests, risk designations, the
registry); none reads the epidemic model, and an import contract in pyproject.toml forbids this
module from importing ``fangkong.sim``.

Each day the platform runs its own actions: the case intake from positive results
(``tracing.actions.open_cases_from_positive_results``), the epidemiologist's confirmation of each
new investigation (``tracing.actions.confirm_investigation``, which finds and classifies the
contacts under the pack), isolation of the identified contacts
(``isolation.actions.isolate_due_contacts``), a transfer of the new cases to the shelter
hospital (``isolation.service.create_transfer`` and ``advance_transfer``) with the cases' status
following it, the filing of isolation tests and the release path (``isolation.actions.release``)
for orders whose phase ends. The drill's twin only plays the people: it decides nothing the
platform could not know.

Two bulk paths remain where the per-call services are too slow for a 100,000-person city:
mass rounds of more than ``SERVICE_TUBES_MAX`` tubes (``_sample_in_bulk``) and, on SQLite, the
day's place-code scans (``record_scans``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fangkong.areas import actions as areas_actions
from fangkong.areas import jobs as areas_jobs
from fangkong.areas import service as areas_service
from fangkong.areas.enums import Basis, DesignationStatus, TargetKind
from fangkong.areas.models import RiskDesignation
from fangkong.areas.schemas import CasePlace, DayFactsIn
from fangkong.command import service as command_service
from fangkong.config import get_settings
from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError
from fangkong.core.scope import Actor
from fangkong.healthcode import service as healthcode_service
from fangkong.healthcode.enums import CaseStatus as CodeCaseStatus
from fangkong.healthcode.enums import ContactKind, Supervision
from fangkong.healthcode.facts import IsolationFacts, TracingFacts
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.service import FactGroup
from fangkong.isolation import actions as isolation_actions
from fangkong.isolation import rules as isolation_rules
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import (
    Category,
    DestinationKind,
    FacilityStatus,
    OrderStatus,
    PhaseKind,
    ReleaseOutcome,
    SampleResult,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, IsolationOrder, IsolationTest, Room
from fangkong.isolation.schemas import IsolationSection, OrdersFromContacts, StopIn
from fangkong.registry import bulk as registry_bulk
from fangkong.registry.models import Building, Household, Person
from fangkong.testing import actions as testing_actions
from fangkong.testing import service as testing_service
from fangkong.testing.enums import LabResult, ResultFormat, TubeStatus
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing import actions as tracing_actions
from fangkong.tracing import service as tracing_service
from fangkong.tracing.enums import CaseStatus, InvestigationStatus, ScanSource
from fangkong.tracing.models import Case as TracingCase
from fangkong.tracing.models import Contact

SCAN_BATCH = 5000
# Rounds of up to this many tubes go through the testing service tube by tube (as samplers'
# phones do); larger ones are written in bulk (``_sample_in_bulk``).
SERVICE_TUBES_MAX = 50
BULK_CHUNK = 5000


@dataclass(frozen=True)
class Case:
    """A case the platform opened (a ``tracing_case`` row), as the drill follows it."""

    case_id: int
    person_id: int
    sampled_at: datetime


@dataclass(frozen=True)
class Sampled:
    """A round's tubes: ``tubes`` maps each barcode to its members (person ids)."""

    campaign_id: int
    tubes: dict[str, list[int]] = field(default_factory=dict)


def record_scans(*, session: Session, scans: Sequence[tuple[int, int, datetime]]) -> int:
    """Store a day's place-code scans ``(person, venue, scanned_at)`` as the venues' gateway
    sends them.

    On PostgreSQL they go through ``tracing.service.record_scans`` (which checks each record and
    writes with COPY). On SQLite, where that path costs about 0.1 ms a scan and a 100,000-person
    drill sends some 40,000 scans a day, they are written in one multi-row insert in the form
    the ``place_scan`` table stores: the twin's scans name only registered people and venues and
    aware times, which is what the per-record checks would establish."""
    now = clock.now()
    if registry_bulk.dialect(session) == "postgresql":
        stored = 0
        rows = [
            {"person_id": p, "venue_id": v, "scanned_at": at, "source": ScanSource.APP.value}
            for p, v, at in scans
        ]
        for start in range(0, len(rows), SCAN_BATCH):
            stored += tracing_service.record_scans(
                session=session, scans=rows[start : start + SCAN_BATCH], max_batch=None
            ).stored
        return stored
    received = registry_bulk.timestamp(session=session, moment=now)
    moments = {at for _, _, at in scans}
    stamp = {at: registry_bulk.timestamp(session=session, moment=at) for at in moments}
    values = [(p, v, stamp[at], ScanSource.APP.value, received, None) for p, v, at in scans]
    raw: Any = session.connection().connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.executemany(
            "INSERT INTO place_scan (person_id, venue_id, scanned_at, source, received_at, "
            "recorded_by_user_id) VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
    finally:
        cursor.close()
    return len(values)


def sample_round(
    *,
    session: Session,
    actor: Actor,
    name: str,
    area_code: str,
    groups: Sequence[Sequence[int]],
    paths: Mapping[int, str],
    pool_size: int,
    rule_ref: str,
    duration: timedelta,
) -> Sampled:
    """Open a round over ``area_code`` and sample ``groups`` of people (e.g. one per risk area,
    in household order) into tubes of at most ``pool_size``, sealing each tube; ``paths`` gives
    each person's area path (the sampling site's area). Barcodes are ``R<round>-<n>``."""
    now = clock.now()
    campaign = testing_service.create_campaign(
        session=session,
        actor=actor,
        name=name,
        area_code=area_code,
        starts_at=now,
        ends_at=now + duration,
        max_pool_size=pool_size,
        rule_ref=rule_ref,
    )
    pools = [
        list(group[start : start + pool_size])
        for group in groups
        for start in range(0, len(group), pool_size)
    ]
    sampled = Sampled(campaign.id)
    if len(pools) <= SERVICE_TUBES_MAX:
        for members in pools:
            barcode = f"R{campaign.id}-{len(sampled.tubes) + 1}"
            testing_service.open_tube(
                session=session,
                actor=actor,
                barcode=barcode,
                area_path=paths[members[0]],
                pool_size=pool_size,
                campaign_id=campaign.id,
            )
            testing_service.add_members(
                session=session, actor=actor, barcode=barcode, person_ids=members
            )
            testing_service.seal_tube(session=session, actor=actor, barcode=barcode)
            sampled.tubes[barcode] = members
    else:
        _sample_in_bulk(session, actor, campaign.id, pools, paths, pool_size, sampled)
    testing_service.close_campaign(session=session, actor=actor, campaign_id=campaign.id)
    return sampled


def _sample_in_bulk(
    session: Session,
    actor: Actor,
    campaign_id: int,
    pools: Sequence[Sequence[int]],
    paths: Mapping[int, str],
    pool_size: int,
    sampled: Sampled,
) -> None:
    """A mass round's tubes in a few multi-row INSERTs, with one audit event for the round.

    The testing domain has no bulk sampling action yet; this writes the same rows its
    ``open_tube``/``add_members``/``seal_tube`` would (tubes sealed, members bound at the same
    moment), and is the place to call that action when it exists."""
    now = clock.now()
    for members in pools:
        sampled.tubes[f"R{campaign_id}-{len(sampled.tubes) + 1}"] = list(members)
    tube_rows = [
        {
            "barcode": barcode,
            "campaign_id": campaign_id,
            "area_path": paths[members[0]],
            "pool_size": pool_size,
            "member_count": len(members),
            "status": TubeStatus.SEALED.value,
            "opened_by_user_id": actor.user_id,
            "opened_at": now,
            "sealed_at": now,
        }
        for barcode, members in sampled.tubes.items()
    ]
    for start in range(0, len(tube_rows), BULK_CHUNK):
        session.execute(insert(Tube), tube_rows[start : start + BULK_CHUNK])
    tube_ids: dict[str, int] = {
        barcode: tube_id
        for barcode, tube_id in session.execute(
            select(Tube.barcode, Tube.id).where(Tube.campaign_id == campaign_id)
        )
    }
    member_rows = [
        {"tube_id": tube_ids[barcode], "person_id": person, "sampled_at": now}
        for barcode, members in sampled.tubes.items()
        for person in members
    ]
    for start in range(0, len(member_rows), BULK_CHUNK):
        session.execute(insert(TubeMember), member_rows[start : start + BULK_CHUNK])
    audit.record(
        session=session,
        actor=actor,
        action="testing.round_sampled",
        subject_type="test_campaign",
        subject_id=campaign_id,
        after={"tubes": len(tube_rows), "samples": len(member_rows), "pool_size": pool_size},
        occurred_at=now,
    )


def ingest_results(*, session: Session, filename: str, content: bytes) -> str:
    """Upload a lab's result file through the lab interface; returns the upload's summary."""
    upload, _ = testing_actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.CSV,
        filename=filename,
        content=content,
    )
    return upload.summary or ""


def _detected_since(session: Session, since: datetime, single: bool) -> list[tuple[int, datetime]]:
    stmt = (
        select(TubeMember.person_id, TubeResult.collected_at)
        .join(Tube, Tube.id == TubeResult.tube_id)
        .join(TubeMember, TubeMember.tube_id == Tube.id)
        .where(TubeResult.result == LabResult.DETECTED.value, TubeResult.stored_at > since)
        .where((Tube.pool_size == 1) if single else (Tube.pool_size > 1))
        .order_by(TubeMember.person_id, TubeResult.collected_at)
    )
    return [(person, at) for person, at in session.execute(stmt)]


def positive_pool_members(*, session: Session, since: datetime) -> list[int]:
    """Members of pooled tubes found positive after ``since``: to be re-sampled one by one."""
    return sorted({person for person, _ in _detected_since(session, since, single=False)})


def open_cases(*, session: Session, since: datetime, pack_id: str) -> list[Case]:
    """The platform's case intake: a case (with its investigation, under the drill's pack) for
    every person with a single-person positive result stored from ``since`` on, through
    ``tracing.actions.open_cases_from_positive_results``."""
    opened = tracing_actions.open_cases_from_positive_results(
        session=session, actor=None, since=since, pack_id=pack_id
    )
    return [Case(c.id, c.person_id, c.sampled_at or c.reported_at) for c in opened]


def confirm_investigations(
    *, session: Session, epidemiologist: Actor, cases: Sequence[Case]
) -> list[Contact]:
    """The epidemiologist confirms each new case's investigation as the platform drafted it
    (trajectory from scans, home and workplace; nothing added): tracing finds and classifies the
    contacts under the pack. Returns the contact rows of these investigations."""
    found: list[Contact] = []
    for case in cases:
        investigation = tracing_service.investigation_of_case(session=session, case_id=case.case_id)
        if investigation is None or investigation.status != InvestigationStatus.DRAFT.value:
            continue
        _, contacts = tracing_actions.confirm_investigation(
            session=session, actor=epidemiologist, investigation_id=investigation.id
        )
        found.extend(contacts)
    return found


# ``isolate_due_contacts`` takes the identified contacts a page at a time (tracing's list limit).
CONTACTS_PAGE = 1000


def isolate_contacts(
    *, session: Session, officer: Actor, pack_id: str, pack_version: int
) -> OrdersFromContacts:
    """The isolation officer takes every contact tracing has identified: orders under the pack
    (``isolation.actions.isolate_due_contacts``), contacts marked handed over."""
    section = isolation_service.section_for(pack_id=pack_id, version=pack_version, now=clock.now())
    total = OrdersFromContacts(created=[], already_ordered=[], refused=[])
    while True:
        result = isolation_actions.isolate_due_contacts(
            session=session, actor=officer, section=section
        )
        total.created.extend(result.created)
        total.already_ordered.extend(result.already_ordered)
        total.refused.extend(result.refused)
        handled = len(result.created) + len(result.already_ordered)
        if not handled or handled + len(result.refused) < CONTACTS_PAGE:
            return total


# ``propose_placements_for`` takes at most this many orders at a time (the API's limit).
PLACEMENT_BATCH = 500


def waiting_for_room(*, session: Session) -> list[int]:
    """Active centralised orders without a room (new ones and those no bed was free for)."""
    return list(
        session.scalars(
            select(IsolationOrder.id)
            .where(
                IsolationOrder.status == OrderStatus.ACTIVE.value,
                IsolationOrder.kind == PhaseKind.CENTRALISED.value,
                IsolationOrder.room_id.is_(None),
            )
            .order_by(IsolationOrder.id)
        )
    )


def place_in_facilities(
    *,
    session: Session,
    officer: Actor,
    team: Actor,
    order_ids: Sequence[int],
    waiting: Sequence[int] = (),
) -> list[int]:
    """New centralised orders go to rooms: the isolation officer asks for placements
    (``isolation.service.propose_placements_for``: households together, capacity respected) and
    confirms each one with a room (``isolation.actions.assign_room``), or, for people who cannot
    be moved and their households, with home isolation and the reason
    (``isolation.actions.isolate_at_home``); the people placed in a facility go there in one
    transfer, run by the transfer team to check-in. People no bed is free for stay under their
    order unplaced; ``waiting`` (see :func:`waiting_for_room`) are tried again. Returns the
    orders placed."""
    free = session.scalar(
        select(func.count())
        .select_from(Room)
        .join(Facility, Facility.id == Room.facility_id)
        .where(Facility.status == FacilityStatus.IN_USE.value, Room.occupancy < Room.capacity)
    )
    # the day's new orders always get a proposal (who cannot be moved goes home at once); those
    # already waiting only when a bed is free
    ids = sorted(set(order_ids) | set(waiting)) if free else sorted(set(order_ids))
    if not ids:
        return []
    rows = session.execute(
        select(IsolationOrder.id, IsolationOrder.person_id, IsolationOrder.category)
        .where(
            IsolationOrder.id.in_(ids),
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.kind == PhaseKind.CENTRALISED.value,
            IsolationOrder.room_id.is_(None),
        )
        .order_by(IsolationOrder.id)
    ).all()
    order_of = {person: order_id for order_id, person, _ in rows}
    by_category: dict[str, list[int]] = {}
    for order_id, _, category in rows:
        by_category.setdefault(category, []).append(order_id)
    placed: dict[int, list[StopIn]] = {}
    for _, ids in sorted(by_category.items()):
        for start in range(0, len(ids), PLACEMENT_BATCH):
            placements = isolation_service.propose_placements_for(
                session=session, actor=officer, order_ids=ids[start : start + PLACEMENT_BATCH]
            )
            for placement in placements:
                order_id = order_of[placement.person_id]
                if placement.reason in isolation_actions.AT_HOME_REASONS:
                    isolation_actions.isolate_at_home(
                        session=session, actor=officer, order_id=order_id, reason=placement.reason
                    )
                    continue
                if placement.room_id is None or placement.facility_id is None:
                    continue  # no bed free: the order waits for the next day's placements
                savepoint = session.begin_nested()
                try:
                    isolation_actions.assign_room(
                        session=session, actor=officer, order_id=order_id, room_id=placement.room_id
                    )
                except FangkongError:
                    savepoint.rollback()  # the room filled meanwhile: the order stays unplaced
                    continue
                savepoint.commit()
                placed.setdefault(placement.facility_id, []).append(
                    StopIn(person_id=placement.person_id, order_id=order_id)
                )
    for facility_id, stops in sorted(placed.items()):
        task = isolation_service.create_transfer(
            session=session,
            actor=officer,
            kind=TransferKind.CONTACT,
            destination_kind=DestinationKind.FACILITY,
            facility_id=facility_id,
            destination_name=None,
            vehicle="drill bus",
            team="drill transfer team",
            stops=stops,
        )
        for step in (
            TransferStatus.DISPATCHED,
            TransferStatus.PICKED_UP,
            TransferStatus.CHECKED_IN,
        ):
            isolation_actions.advance_transfer(
                session=session, actor=team, transfer_id=task.id, to=step
            )
    return sorted(stop.order_id for stops in placed.values() for stop in stops if stop.order_id)


SHELTER_HOSPITAL = "株洲市方舱医院 (drill)"


def transfer_cases(
    *,
    session: Session,
    dispatcher: Actor,
    team: Actor,
    epidemiologist: Actor,
    cases: Sequence[Case],
) -> int | None:
    """The day's new cases go to the shelter hospital in one transfer: the isolation officer
    plans it, the transfer team dispatches, picks up and checks in, and the epidemiologist moves
    each case to ``transferred`` at pick-up and ``in_shelter_hospital`` at check-in. Returns the
    transfer's id (None without cases)."""
    if not cases:
        return None
    task = isolation_service.create_transfer(
        session=session,
        actor=dispatcher,
        kind=TransferKind.POSITIVE,
        destination_kind=DestinationKind.SHELTER_HOSPITAL,
        facility_id=None,
        destination_name=SHELTER_HOSPITAL,
        vehicle="drill ambulance",
        team="drill transfer team",
        stops=[StopIn(person_id=case.person_id) for case in cases],
    )
    steps = (
        (TransferStatus.DISPATCHED, None),
        (TransferStatus.PICKED_UP, CaseStatus.TRANSFERRED),
        (TransferStatus.CHECKED_IN, CaseStatus.IN_SHELTER_HOSPITAL),
    )
    for step, case_status in steps:
        isolation_actions.advance_transfer(
            session=session, actor=team, transfer_id=task.id, to=step
        )
        if case_status is None:
            continue
        for case in cases:
            tracing_service.advance_status(
                session=session,
                actor=epidemiologist,
                case_id=case.case_id,
                to=case_status,
                reason=f"transfer {task.id}",
            )
    return task.id


def isolation_tests_due(*, session: Session, sample_at: datetime) -> list[int]:
    """People whose active order requires a test on the phase day ``sample_at`` falls on (the
    pack's test days of the current phase) and who have none filed for it yet."""
    rows = session.execute(
        select(
            IsolationOrder.id,
            IsolationOrder.person_id,
            IsolationOrder.pack_id,
            IsolationOrder.pack_version,
            IsolationOrder.category,
            IsolationOrder.phase_index,
            IsolationOrder.phase_started_at,
        )
        .where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.phase_started_at <= sample_at,
            IsolationOrder.planned_end_at > sample_at,
        )
        .order_by(IsolationOrder.id)
    ).all()
    if not rows:
        return []
    taken = set(
        session.execute(
            select(IsolationTest.order_id, IsolationTest.phase_index, IsolationTest.day)
            .join(IsolationOrder, IsolationOrder.id == IsolationTest.order_id)
            .where(IsolationOrder.status == OrderStatus.ACTIVE.value)
        ).tuples()
    )
    sections: dict[tuple[str, int], IsolationSection] = {}
    due: set[int] = set()
    for order_id, person, pack_id, version, category, phase_index, started in rows:
        key = (pack_id, version)
        if key not in sections:
            sections[key] = isolation_service.section_for(
                pack_id=pack_id, version=version, now=sample_at
            )
        rule = sections[key].rule_for(Category(category))
        if rule is None or phase_index >= len(rule.phases):
            continue
        day = isolation_rules.phase_day(phase_started_at=started, sampled_at=sample_at)
        if day in rule.phases[phase_index].test_days and (order_id, phase_index, day) not in taken:
            due.add(person)
    return sorted(due)


FILED_RESULTS = {
    LabResult.DETECTED.value: SampleResult.POSITIVE,
    LabResult.NOT_DETECTED.value: SampleResult.NEGATIVE,
}


def file_isolation_tests(*, session: Session, officer: Actor, since: datetime) -> int:
    """The isolation officer files, on each active order, the single-tube results stored from
    ``since`` on of samples its person gave during the order's current phase; returns how many
    tests were filed."""
    rows = session.execute(
        select(IsolationOrder.id, TubeMember.sampled_at, TubeResult.result, TubeResult.ct_values)
        .join(TubeMember, TubeMember.person_id == IsolationOrder.person_id)
        .join(Tube, Tube.id == TubeMember.tube_id)
        .join(TubeResult, TubeResult.tube_id == Tube.id)
        .where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            Tube.pool_size == 1,
            TubeResult.stored_at >= since,
            TubeResult.result.in_(list(FILED_RESULTS)),
            TubeMember.sampled_at >= IsolationOrder.phase_started_at,
            TubeMember.sampled_at <= IsolationOrder.planned_end_at,
        )
        .order_by(IsolationOrder.id, TubeMember.sampled_at, TubeResult.id)
    ).all()
    for order_id, sampled_at, result, ct_values in rows:
        isolation_service.record_test(
            session=session,
            actor=officer,
            order_id=order_id,
            sampled_at=sampled_at,
            result=FILED_RESULTS[result],
            ct=min(ct_values.values()) if ct_values else None,
        )
    return len(rows)


@dataclass
class Releases:
    """What the release path did with the orders due today."""

    released: list[int] = field(default_factory=list)  # people set free
    next_phase: list[int] = field(default_factory=list)  # people moved to the next phase
    held: dict[str, int] = field(default_factory=dict)  # refusals by code


HELD = {IsolationErrorCode.TESTS_MISSING, IsolationErrorCode.TEST_POSITIVE}


def release_due_orders(*, session: Session, officer: Actor, since: datetime) -> Releases:
    """The isolation officer asks the release path (``isolation.actions.release``) for every
    active order whose phase ended since ``since`` (or that was made since then with its phase
    already over): it moves to the next phase, is released, or is held (a required test missing
    or positive) for the officer to deal with."""
    now = clock.now()
    due = session.execute(
        select(IsolationOrder.id, IsolationOrder.person_id)
        .where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.planned_end_at <= now,
            (IsolationOrder.planned_end_at > since) | (IsolationOrder.created_at > since),
        )
        .order_by(IsolationOrder.id)
    ).all()
    out = Releases()
    for order_id, person in due:
        try:
            _, decision = isolation_actions.release(
                session=session, actor=officer, order_id=order_id
            )
        except Conflict as error:
            if error.code not in HELD:
                raise
            out.held[str(error.code)] = out.held.get(str(error.code), 0) + 1
            continue
        if decision.outcome is ReleaseOutcome.NEXT_PHASE:
            out.next_phase.append(person)
        else:
            out.released.append(person)
    return out


@dataclass(frozen=True)
class Restrictions:
    """What the platform restricts today: people by kind of isolation, places under controls."""

    centrally: list[int]
    at_home: list[int]
    compounds: list[int]
    buildings: list[int]


LIVE_CASE = (
    CaseStatus.REPORTED.value,
    CaseStatus.TRANSFERRED.value,
    CaseStatus.IN_HOSPITAL.value,
    CaseStatus.IN_SHELTER_HOSPITAL.value,
)


def restrictions(*, session: Session) -> Restrictions:
    """People in isolation orders in force now (by the phase's kind) and live cases (taken to
    care: treatment is outside the platform); compounds and buildings under a confirmed risk
    designation."""
    now = clock.now()
    cases = session.scalars(select(TracingCase.person_id).where(TracingCase.status.in_(LIVE_CASE)))
    orders = session.execute(
        select(IsolationOrder.person_id, IsolationOrder.kind).where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.phase_started_at <= now,
            IsolationOrder.planned_end_at > now,
        )
    ).all()
    centrally = set(cases) | {p for p, kind in orders if kind == PhaseKind.CENTRALISED.value}
    at_home = {p for p, kind in orders if kind != PhaseKind.CENTRALISED.value} - centrally
    places = session.execute(
        select(
            RiskDesignation.target_kind, RiskDesignation.compound_id, RiskDesignation.building_id
        ).where(RiskDesignation.status == DesignationStatus.CONFIRMED.value)
    ).all()
    compounds = {c for kind, c, _ in places if kind == TargetKind.COMPOUND.value and c}
    buildings = {b for kind, _, b in places if kind != TargetKind.COMPOUND.value and b}
    return Restrictions(sorted(centrally), sorted(at_home), sorted(compounds), sorted(buildings))


def propose_and_confirm_areas(
    *, session: Session, officer: Actor, cases: Sequence[Case], pack_id: str, pack_version: int
) -> list[int]:
    """Risk areas the pack draws from the cases' homes, each confirmed by the officer."""
    rows = session.execute(
        select(Person.id, Person.area_path, Building.compound_id, Building.id)
        .join(Household, Household.id == Person.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Person.id.in_([case.person_id for case in cases]))
    ).all()
    places = [
        CasePlace(
            case_id=person, basis=Basis.RESIDENCE, area_path=path,
            compound_id=compound, building_id=building,
        )
        for person, path, compound, building in rows
    ]  # fmt: skip
    section = areas_service.section_for(pack_id=pack_id, version=pack_version, now=clock.now())
    created = areas_service.propose_from_cases(session=session, places=places, section=section)
    for designation in created:
        areas_actions.confirm(session=session, actor=officer, designation_id=designation.id)
    return [designation.id for designation in created]


def record_area_days(
    *, session: Session, officer: Actor, cases_today: Sequence[Case], rounds: Mapping[int, bool]
) -> int:
    """The officer files today's facts for every confirmed designation: new cases living there,
    and whether a round was held there (``rounds[designation] = all negative``)."""
    today = clock.now().date()
    homes = session.execute(
        select(Building.compound_id, Building.id)
        .join(Household, Household.building_id == Building.id)
        .join(Person, Person.household_id == Household.id)
        .where(Person.id.in_([case.person_id for case in cases_today]))
    ).all()
    designations = session.scalars(
        select(RiskDesignation).where(RiskDesignation.status == DesignationStatus.CONFIRMED.value)
    ).all()
    for designation in designations:
        new = sum(
            building == designation.building_id
            if designation.building_id is not None
            else compound == designation.compound_id
            for compound, building in homes
        )
        held = designation.id in rounds
        areas_actions.record_day(
            session=session,
            actor=officer,
            designation_id=designation.id,
            facts=DayFactsIn(
                day=today,
                new_infections=new,
                rounds=int(held),
                negative_rounds=int(held and rounds[designation.id]),
                open_cases=new,
            ),
        )
    return len(designations)


def evaluate_areas(*, session: Session) -> areas_jobs.EvaluationReport:
    return areas_jobs.run_daily_evaluation(session=session)


def designation_residents(*, session: Session) -> dict[int, list[int]]:
    """Residents of every confirmed compound, building or unit designation, in household order
    (for rounds in risk areas)."""
    confirmed = RiskDesignation.status == DesignationStatus.CONFIRMED.value
    by_compound = (
        select(RiskDesignation.id, Person.household_id, Person.id)
        .join(Building, Building.compound_id == RiskDesignation.compound_id)
        .join(Household, Household.building_id == Building.id)
        .join(Person, Person.household_id == Household.id)
        .where(confirmed, RiskDesignation.target_kind == TargetKind.COMPOUND.value)
    )
    by_building = (
        select(RiskDesignation.id, Person.household_id, Person.id)
        .join(Household, Household.building_id == RiskDesignation.building_id)
        .join(Person, Person.household_id == Household.id)
        .where(
            confirmed,
            RiskDesignation.target_kind.in_([TargetKind.BUILDING.value, TargetKind.UNIT.value]),
            RiskDesignation.unit.is_(None) | (Household.unit == RiskDesignation.unit),
        )
    )
    rows = sorted(
        (tuple(row) for stmt in (by_compound, by_building) for row in session.execute(stmt)),
    )
    out: dict[int, list[int]] = {}
    for designation, _, person in rows:
        out.setdefault(designation, []).append(person)
    return out


def recompute_codes(
    *,
    session: Session,
    person_ids: Sequence[int],
    pack: HealthCodeSection,
    cases: Mapping[int, datetime],
    contacts: Mapping[int, tuple[ContactKind, datetime]],
) -> int:
    """Recompute the health codes of ``person_ids`` from case facts (``cases``: person → first
    positive sample), contact facts (``contacts``: person → kind and last exposure, from
    tracing's contact rows) and isolation orders; returns how many codes changed. (Providers of
    the domains will replace the two below.)"""

    def tracing_facts(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, FactGroup]:
        out: dict[int, FactGroup] = {}
        for person in person_ids:
            if person in cases:
                out[person] = TracingFacts(
                    case_status=CodeCaseStatus.CONFIRMED, case_status_since=cases[person]
                )
            elif person in contacts:
                kind, last = contacts[person]
                out[person] = TracingFacts(contact=kind, last_exposure_at=last)
        return out

    def isolation_facts(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, FactGroup]:
        rows = session.execute(
            select(IsolationOrder.person_id, IsolationOrder.kind, IsolationOrder.phase_started_at)
            .where(
                IsolationOrder.status == OrderStatus.ACTIVE.value,
                IsolationOrder.planned_end_at > now,
                IsolationOrder.person_id.in_(list(person_ids)),
            )
            .order_by(IsolationOrder.id)
        ).all()
        kinds = {
            PhaseKind.CENTRALISED.value: Supervision.CENTRALISED_ISOLATION,
            PhaseKind.HOME_ISOLATION.value: Supervision.HOME_ISOLATION,
            PhaseKind.HOME_MONITORING.value: Supervision.HEALTH_MONITORING,
        }
        return {
            person: IsolationFacts(supervision=kinds[kind], supervision_since=since)
            for person, kind, since in rows
        }

    result = healthcode_service.recompute_for(
        session=session,
        person_ids=person_ids,
        now=clock.now(),
        pack=pack,
        providers=(tracing_facts, isolation_facts),
    )
    return len(result.changed)


def publish_bulletin(*, session: Session, officer: Actor, day: date) -> int:
    """What the command centre's daily job does after the day's cut-off, for the officer's city
    only (the drill's city is the only one with data): the figures of ``day`` for the city and
    each district and the archived bulletin. Returns the bulletins written."""
    settings = get_settings()
    return len(
        command_service.generate_bulletins(
            session=session,
            actor=officer,
            day=day,
            now=clock.now(),
            cutoff_hour=settings.bulletin_cutoff_hour,
            timezone=settings.timezone,
        )
    )
