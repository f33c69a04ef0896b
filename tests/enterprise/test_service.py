from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.audit import AuditEvent, events_for
from fangkong.core.errors import FangkongError
from fangkong.enterprise import reports, service, tickets
from fangkong.enterprise.enums import ApplicationStatus, StatisticsGrouping, TicketCategory
from fangkong.enterprise.errors import EnterpriseErrorCode
from fangkong.enterprise.models import Enterprise, ResumptionApplication
from fangkong.enterprise.schemas import TicketCreate
from tests.authz import snapshot
from tests.enterprise.flow import CREDIT_CODE, approved, enterprise_in, plan, registered
from tests.personas import Personas

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock() -> object:
    with clock.use_clock(clock.ManualClock(NOW)) as manual:
        yield manual


def test_it_registers_an_enterprise_and_links_its_user(
    session: Session, personas: Personas
) -> None:
    flow = registered(session, personas)

    assert flow.enterprise.credit_code == CREDIT_CODE
    assert [e.id for e in service.list_enterprises(session=session, actor=flow.company)] == [
        flow.enterprise.id
    ]
    assert [
        e.action
        for e in events_for(
            session=session, subject_type="enterprise", subject_id=flow.enterprise.id
        )
    ] == ["enterprise.registered"]


@pytest.mark.parametrize(
    ("_case", "credit_code", "code"),
    [
        ("bad check character", "91350100M000100Y44", EnterpriseErrorCode.CREDIT_CODE_INVALID),
        ("already registered", CREDIT_CODE, EnterpriseErrorCode.CREDIT_CODE_TAKEN),
    ],
)
def test_it_refuses_a_bad_or_taken_credit_code_and_changes_nothing(
    session: Session, personas: Personas, _case: str, credit_code: str, code: EnterpriseErrorCode
) -> None:
    flow = registered(session, personas)
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        service.register_enterprise(
            session=session,
            actor=flow.company,
            enterprise_in=enterprise_in(credit_code=credit_code),
        )

    assert (refused.value.code, refused.value.field) == (code, "credit_code")
    assert snapshot(session) == before


def test_it_reviews_an_application_through_changes_to_approval(
    session: Session, personas: Personas
) -> None:
    flow = registered(session, personas)
    application = service.submit_application(
        session=session, actor=flow.company, enterprise_id=flow.enterprise.id, plan=plan(flow.staff)
    )
    service.review(
        session=session,
        actor=flow.bureau,
        application_id=application.id,
        decision=ApplicationStatus.CHANGES_REQUESTED,
        note="宿舍床位不足",
    )
    service.resubmit(
        session=session,
        actor=flow.company,
        application_id=application.id,
        plan=plan(flow.staff[:2]),
    )
    service.review(
        session=session,
        actor=flow.bureau,
        application_id=application.id,
        decision=ApplicationStatus.APPROVED,
        note="",
    )

    assert (application.status, application.revision) == (ApplicationStatus.APPROVED, 2)
    assert service.approved_staff_ids(session=session, application_id=application.id) == {
        flow.staff[0].id,
        flow.staff[1].id,
    }
    history = events_for(
        session=session, subject_type="resumption_application", subject_id=application.id
    )
    assert [(e.action, e.before, e.after) for e in history] == [
        ("enterprise.application_submitted", None, {"status": "submitted", "staff": 3}),
        (
            "enterprise.application_changes_requested",
            {"status": "submitted"},
            {"status": "changes_requested"},
        ),
        (
            "enterprise.application_resubmitted",
            {"status": "changes_requested"},
            {"status": "submitted"},
        ),
        ("enterprise.application_approved", {"status": "submitted"}, {"status": "approved"}),
    ]


def test_it_refuses_a_decision_on_an_application_already_decided(
    session: Session, personas: Personas
) -> None:
    flow, application = approved(session, personas)
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        service.review(
            session=session,
            actor=flow.bureau,
            application_id=application.id,
            decision=ApplicationStatus.REFUSED,
            note="迟到的拒绝",
        )

    assert refused.value.code == EnterpriseErrorCode.APPLICATION_STATUS
    assert snapshot(session) == before


def test_it_requires_a_reason_to_refuse(session: Session, personas: Personas) -> None:
    flow = registered(session, personas)
    application = service.submit_application(
        session=session, actor=flow.company, enterprise_id=flow.enterprise.id, plan=plan(flow.staff)
    )
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        service.review(
            session=session,
            actor=flow.bureau,
            application_id=application.id,
            decision=ApplicationStatus.REFUSED,
            note="  ",
        )

    assert (refused.value.code, refused.value.field) == (
        EnterpriseErrorCode.REASON_REQUIRED,
        "note",
    )
    assert snapshot(session) == before


def test_it_refuses_a_second_pending_application(session: Session, personas: Personas) -> None:
    flow = registered(session, personas)
    service.submit_application(
        session=session, actor=flow.company, enterprise_id=flow.enterprise.id, plan=plan(flow.staff)
    )

    with pytest.raises(FangkongError) as refused:
        service.submit_application(
            session=session,
            actor=flow.company,
            enterprise_id=flow.enterprise.id,
            plan=plan(flow.staff),
        )

    assert refused.value.code == EnterpriseErrorCode.APPLICATION_PENDING


def test_it_assigns_a_liaison_officer(session: Session, personas: Personas) -> None:
    flow, application = approved(session, personas)

    service.assign_liaison(
        session=session,
        actor=flow.bureau,
        application_id=application.id,
        liaison_user_id=flow.bureau.user_id,
    )

    assert application.liaison_user_id == flow.bureau.user_id


def test_it_counts_resumption_and_staff_on_duty_by_park_industry_and_size(
    session: Session, personas: Personas
) -> None:
    flow, _application = approved(session, personas, staff_count=4)
    service.register_enterprise(
        session=session,
        actor=flow.bureau,
        enterprise_in=enterprise_in(
            credit_code="914403001922038216", name="小厂", is_above_scale=False, park="董家塅高科园"
        ),
    )
    reports.file_daily_report(
        session=session,
        actor=flow.company,
        enterprise_id=flow.enterprise.id,
        report_date=date(2022, 11, 19),
        staff_on_site=3,
    )

    by_park = reports.statistics(
        session=session, actor=flow.bureau, grouping=StatisticsGrouping.PARK, on=date(2022, 11, 19)
    )
    by_size = reports.statistics(
        session=session, actor=flow.bureau, grouping=StatisticsGrouping.SIZE, on=date(2022, 11, 19)
    )

    assert [
        (
            g.group,
            g.enterprises,
            g.resumed,
            g.resumption_rate,
            g.approved_staff,
            g.staff_on_site,
            g.on_duty_rate,
        )
        for g in by_park
    ] == [("董家塅高科园", 2, 1, 0.5, 4, 3, 0.75)]
    assert [(g.group, g.resumed, g.on_duty_rate) for g in by_size] == [
        ("above_scale", 1, 0.75),
        ("below_scale", 0, None),
    ]


@pytest.mark.parametrize(
    ("_case", "staff_on_site", "day", "code"),
    [
        ("more than approved", 4, date(2022, 11, 19), EnterpriseErrorCode.STAFF_ON_SITE_INVALID),
        ("negative", -1, date(2022, 11, 19), EnterpriseErrorCode.STAFF_ON_SITE_INVALID),
        ("tomorrow", 1, date(2022, 11, 21), EnterpriseErrorCode.REPORT_DATE_INVALID),
    ],
)
def test_it_refuses_an_impossible_daily_report(
    session: Session,
    personas: Personas,
    _case: str,
    staff_on_site: int,
    day: date,
    code: EnterpriseErrorCode,
) -> None:
    flow, _ = approved(session, personas, staff_count=3)
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        reports.file_daily_report(
            session=session,
            actor=flow.company,
            enterprise_id=flow.enterprise.id,
            report_date=day,
            staff_on_site=staff_on_site,
        )

    assert refused.value.code == code
    assert snapshot(session) == before


def test_it_routes_escalates_and_closes_a_ticket(
    session: Session, personas: Personas, fixed_clock: clock.ManualClock
) -> None:
    flow, _ = approved(session, personas)
    ticket = tickets.open_ticket(
        session=session,
        actor=flow.company,
        ticket_in=TicketCreate(
            enterprise_id=flow.enterprise.id,
            category=TicketCategory.LOGISTICS,
            description="原料车进不来",
        ),
    )
    assert (ticket.department, ticket.due_at) == ("transport", NOW + timedelta(hours=24))

    assert tickets.escalate_overdue(session=session, now=NOW + timedelta(hours=23)) == 0
    assert tickets.escalate_overdue(session=session, now=NOW + timedelta(hours=49)) == 1
    assert tickets.escalate_overdue(session=session, now=NOW + timedelta(hours=49)) == 0
    session.refresh(ticket)
    assert (ticket.status, ticket.escalation_level) == ("escalated", 2)
    assert [
        (s.department, s.age, s.open_tickets)
        for s in tickets.open_summary(
            session=session, actor=flow.bureau, now=NOW + timedelta(hours=49)
        )
    ] == [("transport", "24-72h", 1)]

    tickets.close_ticket(
        session=session, actor=flow.bureau, ticket_id=ticket.id, resolution="已开通绿色通道"
    )
    assert (ticket.status, ticket.resolution) == ("closed", "已开通绿色通道")
    assert tickets.open_summary(session=session, actor=flow.bureau, now=NOW) == []
    with pytest.raises(FangkongError) as refused:
        tickets.close_ticket(
            session=session, actor=flow.bureau, ticket_id=ticket.id, resolution="again"
        )
    assert refused.value.code == EnterpriseErrorCode.TICKET_CLOSED
    escalation = [
        e
        for e in events_for(session=session, subject_type="problem_ticket", subject_id=ticket.id)
        if e.action == "enterprise.ticket_escalated"
    ]
    assert [(e.actor_label, e.rule_ref) for e in escalation] == [
        ("system", tickets.ESCALATION_RULE)
    ]


def test_it_keeps_enterprise_users_to_their_own_enterprise(
    session: Session, personas: Personas
) -> None:
    from fangkong.accounts.enums import Role
    from fangkong.accounts.service import actor_for
    from tests.personas import LUSONG

    flow = registered(session, personas)
    other = actor_for(personas.user("other-company", Role.ENTERPRISE, LUSONG))

    with pytest.raises(FangkongError) as refused:
        service.submit_application(
            session=session, actor=other, enterprise_id=flow.enterprise.id, plan=plan(flow.staff)
        )

    assert refused.value.code == EnterpriseErrorCode.NOT_YOUR_ENTERPRISE
    assert session.query(ResumptionApplication).count() == 0
    assert session.query(Enterprise).count() == 1
    assert (
        session.query(AuditEvent)
        .filter(AuditEvent.action == "enterprise.application_submitted")
        .count()
        == 0
    )
