"""The drill's platform steps on both databases: the platform's own tracing and isolation
actions did the work, and what they stored is what the drill counted."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.areas.models import RiskDesignation
from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.crypto import get_cipher
from fangkong.drill import platform
from fangkong.drill.loop import CITY_CODE, DrillConfig, DrillRun, drill_actor, run_drill
from fangkong.drill.platform.sampling import SERVICE_TUBES_MAX
from fangkong.drill.twin import CityIndex, load_parameters, load_population
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import (
    FacilityStatus,
    OrderStatus,
    PhaseKind,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.models import (
    IsolationOrder,
    IsolationTest,
    Room,
    TransferStop,
    TransferTask,
)
from fangkong.sim.city.generator import City, generate
from fangkong.sim.city.load import load_city
from fangkong.testing import summary as testing_summary
from fangkong.testing.enums import CampaignStatus, LabResult, TubeStatus
from fangkong.testing.models import (
    PersonTestSummary,
    TestCampaign,
    Tube,
    TubeMember,
    TubeResult,
)
from fangkong.tracing.enums import (
    CaseKind,
    CaseStatus,
    ContactStatus,
    InvestigationStatus,
    Severity,
)
from fangkong.tracing.models import Case, Contact, ContactLink, Investigation

PACK = "zhuzhou-2022-11"
DAYS = 6
ROOMS = 15  # of two beds each: fewer than the drill's centralised contacts


@cache
def small_city() -> City:
    return generate(population=2_000, seed=5)


@pytest.fixture
def drilled(session: Session) -> tuple[DrillRun, CityIndex]:
    load_city(session=session, city=small_city(), cipher=get_cipher())
    session.flush()
    start = load_parameters().start
    population, index = load_population(session=session, city_code=CITY_CODE, on=start.date())
    manager = drill_actor(session=session, username="drill-isolation", role=Role.ISOLATION_MANAGER)
    with use_clock(ManualClock(start - timedelta(days=1))):
        facility = isolation_service.create_facility(
            session=session,
            actor=manager,
            name="drill hotel",
            area_code=CITY_CODE,
            status=FacilityStatus.IN_USE,
        )
        for n in range(ROOMS):
            isolation_service.add_room(
                session=session, actor=manager, facility_id=facility.id, label=f"{n}", capacity=2
            )
    session.commit()
    run = run_drill(
        session=session,
        population=population,
        index=index,
        config=DrillConfig(pack_id=PACK, seed=7, days=DAYS),
        commit=session.commit,
    )
    return run, index


def test_cases_come_from_single_tube_positives_and_go_to_the_shelter_hospital(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, index = drilled
    cases = session.scalars(select(Case).order_by(Case.id)).all()
    assert cases, "the drill found no case: pick a seed that does"
    assert len(cases) == sum(day.cases_found for day in run.days) == len(run.case_found_day)
    assert sorted(c.person_id for c in cases) == sorted(
        index.person_id[sorted(run.case_found_day)].tolist()
    )
    positives = set(
        session.scalars(
            select(TubeMember.person_id)
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(TubeResult, TubeResult.tube_id == Tube.id)
            .where(Tube.pool_size == 1, TubeResult.result == LabResult.DETECTED.value)
        )
    )
    assert {c.person_id for c in cases} == positives
    # Each case's status is where the twin's clinicians sent it (most stay in the shelter
    # hospital in a few days), recorded through tracing's own actions.
    expected = {}
    for person in run.case_found_day:
        status = CaseStatus.IN_SHELTER_HOSPITAL
        if person in run.discharged_day:
            status = CaseStatus.DISCHARGED
        elif person in run.died_day:
            status = CaseStatus.DIED
        elif person in run.to_hospital_day:
            status = CaseStatus.IN_HOSPITAL
        expected[int(index.person_id[person])] = status.value
    assert {c.person_id: c.status for c in cases} == expected
    assert CaseStatus.IN_SHELTER_HOSPITAL.value in expected.values()
    reclassified = {c.person_id: c.severity for c in cases if c.kind == CaseKind.CONFIRMED.value}
    assert reclassified == {
        int(index.person_id[person]): severity for person, severity in run.reclassified.items()
    }
    assert all(c.reclassified_at is not None for c in cases if c.person_id in reclassified)
    assert all(c.lab_result_id is not None for c in cases)
    # Each case's investigation runs under the drill's pack and was confirmed by the twin's
    # epidemiologist.
    investigations = session.scalars(select(Investigation)).all()
    assert len(investigations) == len(cases)
    assert {(i.pack_id, i.status) for i in investigations} == {
        (PACK, InvestigationStatus.CONFIRMED.value)
    }
    assert all(i.contacts_found_at is not None for i in investigations)
    # One checked-in transfer a day with cases, one stop per case.
    tasks = session.scalars(
        select(TransferTask).where(TransferTask.kind == TransferKind.POSITIVE.value)
    ).all()
    assert len(tasks) == sum(1 for day in run.days if day.cases_found)
    assert {t.status for t in tasks} == {TransferStatus.CHECKED_IN.value}
    stops = session.scalars(
        select(TransferStop.person_id)
        .join(TransferTask, TransferTask.id == TransferStop.task_id)
        .where(TransferTask.kind == TransferKind.POSITIVE.value)
    ).all()
    assert sorted(stops) == sorted(c.person_id for c in cases)


def test_contacts_are_tracings_rows_and_isolation_took_them(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, index = drilled
    contacts = session.scalars(select(Contact)).all()
    assert contacts
    # each day counts what its investigations found: one link per investigation and person
    links = session.scalars(select(ContactLink)).all()
    assert len(links) == sum(day.contacts_found for day in run.days)
    assert {link.contact_id for link in links} == {c.id for c in contacts}
    people = sorted({c.person_id for c in contacts})
    assert sorted(run.contacts_found) == sorted(index.indices_of(people).tolist())
    # Every contact not already a case was handed over to an isolation order.
    statuses = {(c.status, c.closed_reason) for c in contacts}
    assert statuses <= {
        (ContactStatus.HANDED_OVER.value, None),
        (ContactStatus.CLOSED.value, "already_case"),
    }
    handed = [c for c in contacts if c.status == ContactStatus.HANDED_OVER.value]
    orders = session.scalars(select(IsolationOrder)).all()
    assert len(orders) == sum(day.orders_made for day in run.days)
    assert {o.person_id for o in orders} == {c.person_id for c in handed}
    by_id = {o.id: o for o in orders}
    for contact in handed:
        assert contact.isolation_ref is not None
        order = by_id[int(contact.isolation_ref.removeprefix("order:"))]
        assert order.person_id == contact.person_id
    assert {o.pack_id for o in orders} == {PACK}
    assert {o.category for o in orders} <= {"close_contact", "secondary_contact"}
    assert all(o.rule_id for o in orders)
    created = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "isolation.order.created")
    )
    assert created == len(orders)


def test_centralised_contacts_are_placed_in_free_rooms_and_taken_there(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, _ = drilled
    placed = session.scalars(
        select(IsolationOrder).where(IsolationOrder.room_id.is_not(None))
    ).all()
    assert len(placed) == sum(day.orders_placed for day in run.days)
    assert 0 < len(placed) <= 2 * ROOMS
    assert {o.kind for o in placed} == {PhaseKind.CENTRALISED.value}
    occupancy = session.scalar(select(func.sum(Room.occupancy)))
    assert occupancy == len(placed)
    assert session.scalar(select(func.max(Room.occupancy))) <= 2
    stops = session.execute(
        select(TransferStop.person_id, TransferStop.order_id, TransferTask.status)
        .join(TransferTask, TransferTask.id == TransferStop.task_id)
        .where(TransferTask.kind == TransferKind.CONTACT.value)
    ).all()
    assert sorted((p, o) for p, o, _ in stops) == sorted((o.person_id, o.id) for o in placed)
    assert {status for _, _, status in stops} == {TransferStatus.CHECKED_IN.value}


def test_isolation_tests_are_filed_and_orders_released_through_the_release_path(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, _ = drilled
    filed = session.execute(
        select(IsolationOrder.person_id, IsolationTest.sampled_at).join(
            IsolationOrder, IsolationOrder.id == IsolationTest.order_id
        )
    ).all()
    assert filed
    single_samples = set(
        session.execute(
            select(TubeMember.person_id, TubeMember.sampled_at)
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(TubeResult, TubeResult.tube_id == Tube.id)
            .where(Tube.pool_size == 1)
        ).tuples()
    )
    isolation_round = set(
        session.execute(
            select(TubeMember.person_id, TubeMember.sampled_at)
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(TubeResult, TubeResult.tube_id == Tube.id)
            .join(TestCampaign, TestCampaign.id == Tube.campaign_id)
            .where(TestCampaign.rule_ref == f"drill.isolation_test@{PACK}")
        ).tuples()
    )
    # Every isolation-round result was filed once on its order; every filed test is a
    # single-tube result of the lab.
    assert isolation_round
    assert len(set(filed)) == len(filed)
    assert isolation_round <= set(filed) <= single_samples
    released = session.scalar(
        select(func.count())
        .select_from(IsolationOrder)
        .where(IsolationOrder.status == OrderStatus.RELEASED.value)
    )
    assert released == sum(day.orders_released for day in run.days)
    events = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "isolation.order.released")
    )
    assert events == released


def test_rounds_are_closed_tubes_sealed_and_risk_areas_cite_their_rule(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, _ = drilled
    statuses = set(session.scalars(select(TestCampaign.status)))
    assert statuses == {CampaignStatus.CLOSED.value}
    assert set(session.scalars(select(Tube.status))) == {TubeStatus.SEALED.value}
    tubes = session.scalar(select(func.count()).select_from(Tube))
    assert tubes == sum(day.tubes for day in run.days)
    designations = session.scalars(select(RiskDesignation)).all()
    assert designations
    assert {d.pack_id for d in designations} == {PACK}
    assert all(d.rule_id and d.rule_id.startswith("area.") for d in designations)


def test_the_test_summaries_the_drill_leaves_are_what_a_rebuild_gives(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    """Mass rounds are written in bulk; the summaries the nightly recompute reads must still
    count everyone sampled, whether their results came or not."""
    run, _ = drilled
    assert max(day.tubes for day in run.days) > SERVICE_TUBES_MAX  # the bulk path ran
    columns = (
        PersonTestSummary.person_id,
        PersonTestSummary.last_sampled_us,
        PersonTestSummary.last_negative_us,
        PersonTestSummary.last_campaign_id,
        PersonTestSummary.round_bits,
        PersonTestSummary.pool_positive_us,
    )
    # Results only queue their runs; the nightly recompute folds them in first.
    testing_summary.fold_backlog(session=session)
    kept = set(session.execute(select(*columns)).tuples())
    with session.begin_nested() as nested:
        testing_summary.rebuild(session=session)
        rebuilt = set(session.execute(select(*columns)).tuples())
        nested.rollback()
    sampled = session.scalar(select(func.count(func.distinct(TubeMember.person_id))))
    assert len(rebuilt) == sampled
    assert kept == rebuilt


def test_the_hospitals_reports_are_recorded_through_tracings_actions(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    assert len(drilled[0].days) == DAYS
    case = session.scalars(
        select(Case)
        .where(
            Case.status == CaseStatus.IN_SHELTER_HOSPITAL.value,
            Case.kind == CaseKind.ASYMPTOMATIC.value,
        )
        .order_by(Case.id)
    ).first()
    assert case is not None, "every case was reclassified or moved: pick another seed"
    epi = drill_actor(session=session, username="drill-epi", role=Role.EPIDEMIOLOGIST)
    moment = load_parameters().start + timedelta(days=DAYS, hours=22)
    with use_clock(ManualClock(moment)):
        platform.record_care(
            session=session,
            epidemiologist=epi,
            case_id=case.id,
            severity=Severity.MILD,
            to=CaseStatus.DISCHARGED,
            reason="hospital report",
        )
    session.flush()
    session.refresh(case)
    assert (case.kind, case.severity, case.status) == (
        CaseKind.CONFIRMED.value,
        Severity.MILD.value,
        CaseStatus.DISCHARGED.value,
    )
    assert case.reclassified_at == moment
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == "tracing_case", AuditEvent.subject_id == str(case.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["tracing.case.reclassified", "tracing.case.status_changed"]
