"""Enterprise API: registry, resumption applications and review, reports, passes, tickets."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.enterprise import actions, passes, reports, service, tickets
from fangkong.enterprise.enums import ApplicationStatus, StatisticsGrouping
from fangkong.enterprise.schemas import (
    ApplicationRead,
    CheckpointAnswer,
    CheckpointScan,
    DailyReportIn,
    EnterpriseCreate,
    EnterpriseRead,
    FreightIssue,
    GroupStatistics,
    IssuedPass,
    LiaisonAssign,
    OpenTicketSummary,
    PassRevoke,
    PlanFields,
    ReviewNote,
    StaffLink,
    TicketClose,
    TicketCreate,
    TicketRead,
    WhitelistIssue,
)
from fangkong.web.deps import ActorDep, SessionDep, SettingsDep, requires

router = APIRouter(prefix="/api/v1/enterprise", tags=["enterprise"])


def _enterprise_party(actor: ActorDep) -> Actor:
    """The bureau or an enterprise user; which enterprise they may touch is checked later."""
    if not (actor.can(Permission.ENTERPRISE_REVIEW) or actor.can(Permission.ENTERPRISE_APPLY)):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) has no enterprise access"
        )
    return actor


Party = Annotated[Actor, Depends(_enterprise_party)]
Applicant = Annotated[Actor, Depends(requires(Permission.ENTERPRISE_APPLY))]
Reviewer = Annotated[Actor, Depends(requires(Permission.ENTERPRISE_REVIEW))]
Checker = Annotated[Actor, Depends(requires(Permission.HEALTHCODE_VERIFY))]


def _keys(settings: SettingsDep) -> passes.PassKeys:
    return passes.keys_from_spec(settings.code_signing_key)


Keys = Annotated[passes.PassKeys, Depends(_keys)]


@router.post("/enterprises", status_code=201)
def register_enterprise(
    session: SessionDep, actor: Party, enterprise_in: EnterpriseCreate
) -> EnterpriseRead:
    enterprise = service.register_enterprise(
        session=session, actor=actor, enterprise_in=enterprise_in
    )
    session.commit()
    return EnterpriseRead.model_validate(enterprise)


@router.get("/enterprises")
def list_enterprises(session: SessionDep, actor: Party) -> list[EnterpriseRead]:
    found = service.list_enterprises(session=session, actor=actor)
    return [EnterpriseRead.model_validate(e) for e in found]


@router.post("/enterprises/{enterprise_id}/staff")
def link_staff(
    session: SessionDep, actor: Party, enterprise_id: int, link: StaffLink
) -> dict[str, int]:
    linked = service.link_staff(
        session=session, actor=actor, enterprise_id=enterprise_id, person_ids=link.person_ids
    )
    session.commit()
    return {"linked": linked}


@router.post("/enterprises/{enterprise_id}/applications", status_code=201)
def submit_application(
    session: SessionDep, actor: Applicant, enterprise_id: int, plan: PlanFields
) -> ApplicationRead:
    application = service.submit_application(
        session=session, actor=actor, enterprise_id=enterprise_id, plan=plan
    )
    session.commit()
    return ApplicationRead.model_validate(application)


@router.post("/applications/{application_id}/resubmit")
def resubmit(
    session: SessionDep, actor: Applicant, application_id: int, plan: PlanFields
) -> ApplicationRead:
    application = service.resubmit(
        session=session, actor=actor, application_id=application_id, plan=plan
    )
    session.commit()
    return ApplicationRead.model_validate(application)


def _decide(
    session: SessionDep, actor: Actor, application_id: int, decision: ApplicationStatus, note: str
) -> ApplicationRead:
    application = service.review(
        session=session, actor=actor, application_id=application_id, decision=decision, note=note
    )
    session.commit()
    return ApplicationRead.model_validate(application)


@router.post("/applications/{application_id}/approve")
def approve(
    session: SessionDep, actor: Reviewer, application_id: int, body: ReviewNote
) -> ApplicationRead:
    return _decide(session, actor, application_id, ApplicationStatus.APPROVED, body.note)


@router.post("/applications/{application_id}/refuse")
def refuse(
    session: SessionDep, actor: Reviewer, application_id: int, body: ReviewNote
) -> ApplicationRead:
    return _decide(session, actor, application_id, ApplicationStatus.REFUSED, body.note)


@router.post("/applications/{application_id}/request-changes")
def request_changes(
    session: SessionDep, actor: Reviewer, application_id: int, body: ReviewNote
) -> ApplicationRead:
    return _decide(session, actor, application_id, ApplicationStatus.CHANGES_REQUESTED, body.note)


@router.post("/applications/{application_id}/liaison")
def assign_liaison(
    session: SessionDep, actor: Reviewer, application_id: int, body: LiaisonAssign
) -> ApplicationRead:
    application = service.assign_liaison(
        session=session,
        actor=actor,
        application_id=application_id,
        liaison_user_id=body.liaison_user_id,
    )
    session.commit()
    return ApplicationRead.model_validate(application)


@router.post("/enterprises/{enterprise_id}/daily-reports")
def file_daily_report(
    session: SessionDep, actor: Applicant, enterprise_id: int, report: DailyReportIn
) -> dict[str, int | str]:
    filed = reports.file_daily_report(
        session=session,
        actor=actor,
        enterprise_id=enterprise_id,
        report_date=report.report_date,
        staff_on_site=report.staff_on_site,
    )
    session.commit()
    return {"report_date": filed.report_date.isoformat(), "staff_on_site": filed.staff_on_site}


@router.get("/statistics")
def statistics(
    session: SessionDep, actor: Reviewer, grouping: StatisticsGrouping, on: date
) -> list[GroupStatistics]:
    return reports.statistics(session=session, actor=actor, grouping=grouping, on=on)


def _issued(issued: actions.Issued) -> IssuedPass:
    return IssuedPass(
        id=issued.pass_id,
        serial=issued.serial,
        kind=issued.kind,
        person_id=issued.person_id,
        plate=issued.plate,
        token=issued.token,
    )


@router.post("/passes/whitelist", status_code=201)
def issue_whitelist(
    session: SessionDep, actor: Reviewer, keys: Keys, issue_in: WhitelistIssue
) -> list[IssuedPass]:
    issued = actions.issue_whitelist_passes(
        session=session, actor=actor, keys=keys, issue_in=issue_in
    )
    session.commit()
    return [_issued(i) for i in issued]


@router.post("/passes/freight", status_code=201)
def issue_freight(
    session: SessionDep, actor: Reviewer, keys: Keys, issue_in: FreightIssue
) -> IssuedPass:
    issued = actions.issue_freight_pass(session=session, actor=actor, keys=keys, issue_in=issue_in)
    session.commit()
    return _issued(issued)


@router.post("/passes/{pass_id}/revoke")
def revoke(session: SessionDep, actor: Reviewer, pass_id: int, body: PassRevoke) -> dict[str, str]:
    record = actions.revoke_pass(session=session, actor=actor, pass_id=pass_id, reason=body.reason)
    session.commit()
    return {"serial": record.serial, "status": record.status}


@router.get("/applications/{application_id}/passes.pdf")
def pass_sheet(
    session: SessionDep, actor: Reviewer, keys: Keys, settings: SettingsDep, application_id: int
) -> Response:
    pdf = actions.pass_sheet(
        session=session,
        actor=actor,
        keys=keys,
        application_id=application_id,
        timezone=settings.timezone,
    )
    return Response(pdf, media_type="application/pdf")


@router.post("/checkpoint/scan")
def checkpoint_scan(
    session: SessionDep, actor: Checker, keys: Keys, scan: CheckpointScan
) -> CheckpointAnswer:
    return actions.check_at_checkpoint(
        session=session,
        actor=actor,
        keys=keys,
        token=scan.token,
        health_colour=scan.health_colour,
        site=scan.site,
    )


@router.post("/tickets", status_code=201)
def open_ticket(session: SessionDep, actor: Party, ticket_in: TicketCreate) -> TicketRead:
    ticket = tickets.open_ticket(session=session, actor=actor, ticket_in=ticket_in)
    session.commit()
    return TicketRead.model_validate(ticket)


@router.post("/tickets/{ticket_id}/close")
def close_ticket(
    session: SessionDep, actor: Reviewer, ticket_id: int, body: TicketClose
) -> TicketRead:
    ticket = tickets.close_ticket(
        session=session, actor=actor, ticket_id=ticket_id, resolution=body.resolution
    )
    session.commit()
    return TicketRead.model_validate(ticket)


@router.get("/tickets/summary")
def ticket_summary(session: SessionDep, actor: Reviewer) -> list[OpenTicketSummary]:
    return tickets.open_summary(session=session, actor=actor, now=clock.now())
