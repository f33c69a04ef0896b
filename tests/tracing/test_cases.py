"""Cases: opening (by hand and from positive results), the course of a case, reclassification,
scoping, and every refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.testing.enums import LabResult
from fangkong.tracing import actions, jobs, service
from fangkong.tracing.enums import (
    CaseKind,
    CaseStatus,
    DetectionRoute,
    InvestigationStatus,
    Severity,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Case, Investigation
from tests.authz import snapshot
from tests.personas import HETANG, Personas
from tests.tracing.world import NOW, SAMPLED, build, epidemiologist, open_case, positive_tube


def events_of(session: Session, subject_type: str, subject_id: int) -> list[audit.AuditEvent]:
    return list(
        session.scalars(
            select(audit.AuditEvent)
            .where(
                audit.AuditEvent.subject_type == subject_type,
                audit.AuditEvent.subject_id == str(subject_id),
            )
            .order_by(audit.AuditEvent.id)
        )
    )


def test_a_new_case_opens_an_investigation_due_within_the_packs_deadline(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person, onset=date(2022, 11, 7))
    assert (case.kind, case.status, case.detection_route, case.area_path) == (
        "asymptomatic",
        "reported",
        "fever_clinic",
        world.case_person.area_path,
    )
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    # cn-9: 2 days before the earlier of onset (7 Nov, 00:00) and sampling (8 Nov 01:30), until
    # the report; due 24 hours after it was opened.
    assert investigation.window_start == datetime(2022, 11, 5, tzinfo=UTC)
    assert investigation.window_end == NOW - timedelta(hours=2)
    assert investigation.due_at == NOW + timedelta(hours=24)
    assert (investigation.status, investigation.pack_id) == ("draft", "cn-9")
    [created] = events_of(session, "tracing_case", case.id)
    assert (created.action, created.actor_label) == ("tracing.case.created", "epi-430203")
    [opened] = events_of(session, "tracing_investigation", investigation.id)
    assert opened.action == "tracing.investigation.opened"
    assert opened.rule_ref == "cn-9@1#tr.investigation; cn-9@1#tr.lookback"


def test_a_second_live_case_for_the_same_person_is_refused_until_the_first_is_void(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    first = open_case(session, actor, world.case_person)
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        open_case(session, actor, world.case_person, kind=CaseKind.CONFIRMED)
    assert refused.value.code is TracingErrorCode.CASE_PERSON_ALREADY_CASE
    assert refused.value.status == 409
    assert snapshot(session) == before
    with use_clock(ManualClock(NOW)):
        service.advance_status(
            session=session, actor=actor, case_id=first.id, to=CaseStatus.VOID, reason="wrong tube"
        )
    assert first.active_person_id is None
    second = open_case(session, actor, world.case_person, kind=CaseKind.CONFIRMED)
    assert second.id != first.id and second.active_person_id == world.case_person.id


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"onset_date": date(2022, 11, 10)}, TracingErrorCode.CASE_DATE_IN_FUTURE),
        ({"sampled_at": NOW + timedelta(hours=1)}, TracingErrorCode.CASE_DATE_IN_FUTURE),
        ({"sampled_at": datetime(2022, 11, 8, 9, 0)}, TracingErrorCode.CASE_TIME_NAIVE),  # noqa: DTZ001
        ({"severity": Severity.MILD}, TracingErrorCode.CASE_SEVERITY_INVALID),
        ({"person_id": 987_654}, TracingErrorCode.CASE_UNKNOWN_PERSON),
    ],
)
def test_bad_case_input_is_refused_with_its_code_and_changes_nothing(
    session: Session, personas: Personas, change: dict[str, object], code: TracingErrorCode
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    arguments: dict[str, object] = {
        "person_id": world.case_person.id,
        "kind": CaseKind.ASYMPTOMATIC,
        "detection_route": DetectionRoute.OTHER,
        "sampled_at": SAMPLED,
    }
    before = snapshot(session)
    with use_clock(ManualClock(NOW)), pytest.raises(FangkongError) as refused:
        service.create_case(session=session, actor=actor, **{**arguments, **change})  # type: ignore[arg-type]
    assert refused.value.code is code
    assert snapshot(session) == before


def test_a_person_outside_the_jurisdiction_cannot_be_made_a_case_there(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    with pytest.raises(FangkongError) as refused:
        open_case(session, epidemiologist(personas, HETANG), world.case_person)
    assert refused.value.code is TracingErrorCode.CASE_UNKNOWN_PERSON


def test_a_case_follows_its_course_and_refuses_impossible_moves(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person)
    with use_clock(ManualClock(NOW)):
        for status in (
            CaseStatus.TRANSFERRED,
            CaseStatus.IN_SHELTER_HOSPITAL,
            CaseStatus.IN_HOSPITAL,
            CaseStatus.DISCHARGED,
        ):
            service.advance_status(session=session, actor=actor, case_id=case.id, to=status)
        with pytest.raises(FangkongError) as refused:
            service.advance_status(
                session=session, actor=actor, case_id=case.id, to=CaseStatus.IN_HOSPITAL
            )
    assert refused.value.code is TracingErrorCode.CASE_STATUS_TRANSITION
    assert case.status == "discharged"
    moves = [
        (event.before or {}).get("status", "") + "→" + (event.after or {})["status"]
        for event in events_of(session, "tracing_case", case.id)
        if event.action == "tracing.case.status_changed"
    ]
    assert moves == [
        "reported→transferred",
        "transferred→in_shelter_hospital",
        "in_shelter_hospital→in_hospital",
        "in_hospital→discharged",
    ]


def test_an_asymptomatic_infection_is_reclassified_once_as_confirmed(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person)
    later = NOW + timedelta(days=1)
    with use_clock(ManualClock(later)):
        service.reclassify(session=session, actor=actor, case_id=case.id, severity=Severity.MILD)
        with pytest.raises(FangkongError) as refused:
            service.reclassify(session=session, actor=actor, case_id=case.id)
    assert (case.kind, case.severity, case.reclassified_at) == ("confirmed", "mild", later)
    assert refused.value.code is TracingErrorCode.CASE_RECLASSIFY_INVALID
    actions_seen = [event.action for event in events_of(session, "tracing_case", case.id)]
    assert actions_seen == ["tracing.case.created", "tracing.case.reclassified"]


def test_cases_are_listed_only_inside_the_jurisdiction_and_filtered(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    first = open_case(session, actor, world.case_person)
    second = open_case(session, actor, world.shopper, kind=CaseKind.CONFIRMED)
    assert [c.id for c in service.list_cases(session=session, actor=actor)] == sorted(
        [first.id, second.id], reverse=True
    )
    assert [
        c.id for c in service.list_cases(session=session, actor=actor, kind=CaseKind.CONFIRMED)
    ] == [second.id]
    assert service.list_cases(session=session, actor=epidemiologist(personas, HETANG)) == []
    with pytest.raises(FangkongError) as hidden:
        service.get_case_or_raise(
            session=session, actor=epidemiologist(personas, HETANG), case_id=first.id
        )
    assert hidden.value.code is TracingErrorCode.CASE_NOT_FOUND


def test_single_person_positive_results_become_cases_once(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    positive_tube(session, [world.case_person], barcode="T0001")
    positive_tube(session, [world.shopper], barcode="T0002", campaign=False)
    positive_tube(session, [world.colleague, world.late_shopper], barcode="T0003")  # a pool
    positive_tube(session, [world.neighbour], barcode="T0004", result=LabResult.NOT_DETECTED)
    with use_clock(ManualClock(NOW)):
        opened = actions.open_cases_from_positive_results(session=session, actor=None)
        again = actions.open_cases_from_positive_results(session=session, actor=None)
    assert [(c.person_id, c.detection_route, c.kind) for c in opened] == [
        (world.case_person.id, "mass_round", "asymptomatic"),
        (world.shopper.id, "other", "asymptomatic"),
    ]
    assert opened[0].sampled_at == SAMPLED
    assert opened[0].source_ref is not None and opened[0].source_ref.startswith("tube T0001")
    assert again == []
    assert (
        session.scalars(select(Investigation.status)).all() == [str(InvestigationStatus.DRAFT)] * 2
    )
    created = events_of(session, "tracing_case", opened[0].id)[0]
    assert (created.actor_label, created.rule_ref) == (
        "system",
        actions.POSITIVE_RULE,
    )
    assert session.scalars(select(Case.id)).all() == [c.id for c in opened]


def test_positive_results_are_searched_only_inside_the_actors_jurisdiction(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    positive_tube(session, [world.colleague], barcode="T0005")  # lives in 荷塘区
    positive_tube(session, [world.case_person], barcode="T0006")
    with use_clock(ManualClock(NOW)):
        opened = actions.open_cases_from_positive_results(
            session=session, actor=epidemiologist(personas)
        )
    assert [c.person_id for c in opened] == [world.case_person.id]


def test_the_intake_job_opens_cases_as_the_system_and_only_from_new_results(
    session: Session,
) -> None:
    world = build(session)
    positive_tube(session, [world.case_person], barcode="T0007")
    with use_clock(ManualClock(NOW)):
        later = jobs.run_case_intake(session=session, since=NOW)
        opened = jobs.run_case_intake(session=session, since=NOW - timedelta(days=1))
    assert later == []  # the result was stored 3 hours before NOW
    assert [(c.person_id, c.created_by_user_id) for c in opened] == [(world.case_person.id, None)]


def test_the_intake_opens_investigations_under_the_pack_it_is_given(session: Session) -> None:
    world = build(session)
    positive_tube(session, [world.case_person], barcode="T0008")
    positive_tube(session, [world.shopper], barcode="T0009", campaign=False)
    with use_clock(ManualClock(NOW)):
        opened = actions.open_cases_from_positive_results(
            session=session, actor=None, pack_id="cn-20"
        )
        default = service.section_for(pack_id=None, version=None, now=NOW).pack_id
    assert len(opened) == 2
    packs = session.scalars(select(Investigation.pack_id).order_by(Investigation.id)).all()
    assert packs == ["cn-20", "cn-20"]
    assert default != "cn-20"  # without a pack the national pack in force at NOW applies
