"""Enterprise pages: the registry of enterprises, the resumption application and its review,
daily staff reports, statistics, bulk passes with their PDF sheet, the checkpoint and the
problem-ticket queue. The checkpoint page is built for a phone or a handheld scanner."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Permission, Role
from fangkong.core import clock
from fangkong.core.crypto import get_cipher
from fangkong.core.errors import CoreErrorCode, FangkongError, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.enterprise import actions, passes, reports, service, tickets
from fangkong.enterprise.enums import (
    ApplicationStatus,
    Department,
    HealthColour,
    StatisticsGrouping,
    TicketCategory,
)
from fangkong.enterprise.errors import EnterpriseErrorCode as E
from fangkong.enterprise.schemas import (
    EnterpriseCreate,
    FreightIssue,
    PlanFields,
    TicketCreate,
    WhitelistIssue,
)
from fangkong.web.deps import ActorDep, SessionDep, SettingsDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)

DECISIONS = {
    "approve": ApplicationStatus.APPROVED,
    "refuse": ApplicationStatus.REFUSED,
    "changes": ApplicationStatus.CHANGES_REQUESTED,
}
STAFF_FILE_LIMIT = 2_000_000  # bytes: 20,000 ID numbers with names fit easily


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _party(actor: Actor) -> None:
    if not (actor.can(Permission.ENTERPRISE_REVIEW) or actor.can(Permission.ENTERPRISE_APPLY)):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) has no enterprise access"
        )


def _keys(settings: SettingsDep) -> passes.PassKeys:
    return passes.keys_from_spec(settings.code_signing_key)


def _local_day_start(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone))


@router.get("/enterprise", response_class=HTMLResponse)
def enterprise_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    _party(actor)
    enterprises = service.list_enterprises(session=session, actor=actor)
    return render(request, "enterprise/list.html", {"enterprises": enterprises})


@router.post("/enterprise")
def register_enterprise(
    session: SessionDep,
    actor: ActorDep,
    credit_code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    industry: Annotated[str, Form()],
    address: Annotated[str, Form()],
    area_code: Annotated[str, Form()],
    contact_name: Annotated[str, Form()],
    contact_phone: Annotated[str, Form()],
    park: Annotated[str, Form()] = "",
    is_above_scale: Annotated[bool, Form()] = False,
) -> Response:
    _party(actor)
    enterprise = service.register_enterprise(
        session=session,
        actor=actor,
        enterprise_in=EnterpriseCreate(
            credit_code=credit_code,
            name=name.strip(),
            industry=industry.strip(),
            is_above_scale=is_above_scale,
            park=park.strip() or None,
            address=address.strip(),
            area_code=area_code.strip(),
            contact_name=contact_name.strip(),
            contact_phone=contact_phone.strip(),
        ),
    )
    session.commit()
    return _see_other(f"/enterprise/{enterprise.id}")


@router.get("/enterprise/reviews", response_class=HTMLResponse)
def review_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.ENTERPRISE_REVIEW)
    pending = service.list_applications(
        session=session, actor=actor, status=ApplicationStatus.SUBMITTED
    )
    approved = service.list_applications(
        session=session, actor=actor, status=ApplicationStatus.APPROVED
    )
    return render(request, "enterprise/reviews.html", {"pending": pending, "approved": approved})


def _detail_context(session: SessionDep, actor: Actor, enterprise_id: int) -> dict[str, object]:
    enterprise = service.get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    applications = service.applications_of(
        session=session, actor=actor, enterprise_id=enterprise_id
    )
    return {
        "enterprise": enterprise,
        "applications": applications,
        "can_apply": actor.can(Permission.ENTERPRISE_APPLY),
        "is_pending": any(
            a.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.CHANGES_REQUESTED)
            for a in applications
        ),
        "is_approved": any(a.status == ApplicationStatus.APPROVED for a in applications),
        "tickets": tickets.list_tickets(session=session, actor=actor, enterprise_id=enterprise_id),
        "categories": list(TicketCategory),
        "today": clock.now().date().isoformat(),
        "staff_report": None,
    }


@router.get("/enterprise/{enterprise_id:int}", response_class=HTMLResponse)
def enterprise_detail(
    request: Request, session: SessionDep, actor: ActorDep, enterprise_id: int
) -> Response:
    return render(request, "enterprise/detail.html", _detail_context(session, actor, enterprise_id))


async def _staff_ids(
    session: SessionDep, actor: Actor, staff_file: UploadFile
) -> tuple[list[int], list[service.StaffLineProblem]]:
    raw = await staff_file.read(STAFF_FILE_LIMIT + 1)
    if len(raw) > STAFF_FILE_LIMIT:
        raise FangkongError(E.STAFF_LIST_EMPTY, "the staff file is too large", field="staff_file")
    text = raw.decode("utf-8-sig", errors="replace")
    return service.resolve_staff_numbers(
        session=session, actor=actor, cipher=get_cipher(), lines=text.splitlines()
    )


@router.post("/enterprise/{enterprise_id:int}/applications", response_class=HTMLResponse)
async def submit_application(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    enterprise_id: int,
    prevention_officer: Annotated[str, Form()],
    prevention_officer_phone: Annotated[str, Form()],
    emergency_plan: Annotated[str, Form()],
    staff_file: Annotated[UploadFile, File()],
    dormitory_beds: Annotated[int, Form()] = 0,
    is_closed_loop: Annotated[bool, Form()] = False,
    is_point_to_point_commuting: Annotated[bool, Form()] = False,
    application_id: Annotated[int | None, Form()] = None,
) -> Response:
    """Submit (or, with ``application_id``, resubmit) a plan with an uploaded staff list: one
    resident ID number per line. Numbers not found are reported; the others make the list."""
    actor.require(Permission.ENTERPRISE_APPLY)
    service.get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    person_ids, problems = await _staff_ids(session, actor, staff_file)
    plan = PlanFields(
        is_closed_loop=is_closed_loop,
        is_point_to_point_commuting=is_point_to_point_commuting,
        dormitory_beds=dormitory_beds,
        prevention_officer=prevention_officer.strip(),
        prevention_officer_phone=prevention_officer_phone.strip(),
        emergency_plan=emergency_plan.strip(),
        staff_person_ids=person_ids,
    )
    if application_id is None:
        service.submit_application(
            session=session, actor=actor, enterprise_id=enterprise_id, plan=plan
        )
    else:
        service.resubmit(session=session, actor=actor, application_id=application_id, plan=plan)
    session.commit()
    context = _detail_context(session, actor, enterprise_id)
    context["staff_report"] = {"accepted": len(person_ids), "problems": problems}
    return render(request, "enterprise/detail.html", context)


@router.post("/enterprise/{enterprise_id:int}/daily-report")
def file_daily_report(
    session: SessionDep,
    actor: ActorDep,
    enterprise_id: int,
    report_date: Annotated[date, Form()],
    staff_on_site: Annotated[int, Form()],
) -> Response:
    actor.require(Permission.ENTERPRISE_APPLY)
    reports.file_daily_report(
        session=session,
        actor=actor,
        enterprise_id=enterprise_id,
        report_date=report_date,
        staff_on_site=staff_on_site,
    )
    session.commit()
    return _see_other(f"/enterprise/{enterprise_id}?reported={report_date.isoformat()}")


@router.post("/enterprise/{enterprise_id:int}/tickets")
def report_problem(
    session: SessionDep,
    actor: ActorDep,
    enterprise_id: int,
    category: Annotated[TicketCategory, Form()],
    description: Annotated[str, Form()],
) -> Response:
    _party(actor)
    tickets.open_ticket(
        session=session,
        actor=actor,
        ticket_in=TicketCreate(
            enterprise_id=enterprise_id, category=category, description=description.strip()
        ),
    )
    session.commit()
    return _see_other(f"/enterprise/{enterprise_id}#tickets")


@router.get("/enterprise/applications/{application_id:int}", response_class=HTMLResponse)
def application_page(
    request: Request, session: SessionDep, actor: ActorDep, application_id: int
) -> Response:
    application = service.get_application(
        session=session, actor=actor, application_id=application_id
    )
    enterprise = service.get_for_actor(
        session=session, actor=actor, enterprise_id=application.enterprise_id
    )
    is_reviewer = actor.can(Permission.ENTERPRISE_REVIEW)
    liaisons = (
        accounts_service.list_assigned_to(
            session=session,
            jurisdiction_path=actor.jurisdiction_path or "/nowhere/",
            role=Role.INDUSTRY_BUREAU,
        )
        if is_reviewer
        else []
    )
    today = clock.now().date()
    context = {
        "application": application,
        "enterprise": enterprise,
        "staff": service.staff_list(session=session, actor=actor, application_id=application_id),
        "is_reviewer": is_reviewer,
        "liaisons": liaisons,
        "passes": (
            actions.list_passes(session=session, actor=actor, application_id=application_id)
            if is_reviewer
            else []
        ),
        "issued": request.query_params.get("issued"),
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=14)).isoformat(),
    }
    return render(request, "enterprise/application.html", context)


@router.post("/enterprise/applications/{application_id:int}/decide")
def decide(
    session: SessionDep,
    actor: ActorDep,
    application_id: int,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    status = DECISIONS.get(decision)
    if status is None:
        raise FangkongError(CoreErrorCode.REQUEST_INVALID, "unknown decision", field="decision")
    service.review(
        session=session, actor=actor, application_id=application_id, decision=status, note=note
    )
    session.commit()
    return _see_other(f"/enterprise/applications/{application_id}")


@router.post("/enterprise/applications/{application_id:int}/liaison")
def assign_liaison(
    session: SessionDep,
    actor: ActorDep,
    application_id: int,
    liaison_user_id: Annotated[int, Form()],
) -> Response:
    service.assign_liaison(
        session=session,
        actor=actor,
        application_id=application_id,
        liaison_user_id=liaison_user_id,
    )
    session.commit()
    return _see_other(f"/enterprise/applications/{application_id}")


@router.post("/enterprise/applications/{application_id:int}/passes")
def issue_passes(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    application_id: int,
    valid_from: Annotated[date, Form()],
    valid_until: Annotated[date, Form()],
    route: Annotated[str, Form()],
    sites: Annotated[str, Form()] = "",
) -> Response:
    """One whitelist card for everyone on the approved staff list; the last day is included."""
    issued = actions.issue_whitelist_passes(
        session=session,
        actor=actor,
        keys=_keys(settings),
        issue_in=WhitelistIssue(
            application_id=application_id,
            valid_from=_local_day_start(valid_from, settings.timezone),
            valid_until=_local_day_start(valid_until + timedelta(days=1), settings.timezone),
            route=route.strip(),
            sites=[s.strip() for s in sites.replace("，", ",").split(",") if s.strip()],
        ),
    )
    session.commit()
    return _see_other(f"/enterprise/applications/{application_id}?issued={len(issued)}")


@router.post("/enterprise/applications/{application_id:int}/freight")
def issue_freight_pass(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    application_id: int,
    plate: Annotated[str, Form()],
    driver_name: Annotated[str, Form()],
    route: Annotated[str, Form()],
    loading_points: Annotated[str, Form()],
    valid_from: Annotated[date, Form()],
    valid_until: Annotated[date, Form()],
) -> Response:
    """A freight-vehicle pass (通行证) for the enterprise's supply chain; the last day is
    included."""
    actions.issue_freight_pass(
        session=session,
        actor=actor,
        keys=_keys(settings),
        issue_in=FreightIssue(
            application_id=application_id,
            plate=plate,
            driver_name=driver_name.strip(),
            route=route.strip(),
            loading_points=[
                p.strip() for p in loading_points.replace("，", ",").split(",") if p.strip()
            ],
            valid_from=_local_day_start(valid_from, settings.timezone),
            valid_until=_local_day_start(valid_until + timedelta(days=1), settings.timezone),
        ),
    )
    session.commit()
    return _see_other(f"/enterprise/applications/{application_id}?issued=1#passes")


@router.get("/enterprise/applications/{application_id:int}/passes.pdf")
def pass_sheet(
    session: SessionDep, actor: ActorDep, settings: SettingsDep, application_id: int
) -> Response:
    pdf = actions.pass_sheet(
        session=session,
        actor=actor,
        keys=_keys(settings),
        application_id=application_id,
        timezone=settings.timezone,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="passes-{application_id}.pdf"'},
    )


@router.post("/enterprise/passes/{pass_id:int}/revoke")
def revoke_pass(
    session: SessionDep,
    actor: ActorDep,
    pass_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    record = actions.revoke_pass(session=session, actor=actor, pass_id=pass_id, reason=reason)
    session.commit()
    return _see_other(f"/enterprise/applications/{record.application_id}#passes")


@router.get("/enterprise/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request, session: SessionDep, actor: ActorDep, on: date | None = None
) -> Response:
    actor.require(Permission.ENTERPRISE_REVIEW)
    day = on or clock.now().date()
    tables = [
        (grouping, reports.statistics(session=session, actor=actor, grouping=grouping, on=day))
        for grouping in StatisticsGrouping
    ]
    return render(request, "enterprise/statistics.html", {"on": day, "tables": tables})


@router.get("/enterprise/checkpoint", response_class=HTMLResponse)
def checkpoint_page(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.HEALTHCODE_VERIFY)
    return render(request, "enterprise/checkpoint.html", {"answer": None, "site": ""})


@router.post("/enterprise/checkpoint", response_class=HTMLResponse)
def checkpoint_scan(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    token: Annotated[str, Form()],
    site: Annotated[str, Form()] = "",
    driver_colour: Annotated[str, Form()] = "",
) -> Response:
    """Check a scanned pass; an HTMX request gets the answer panel only."""
    answer = actions.check_at_checkpoint(
        session=session,
        actor=actor,
        keys=_keys(settings),
        token=token,
        health_colour=HealthColour(driver_colour) if driver_colour in set(HealthColour) else None,
        site=site.strip() or None,
    )
    context = {"answer": answer, "site": site}
    if request.headers.get("hx-request"):
        return render(request, "enterprise/_check_answer.html", context)
    return render(request, "enterprise/checkpoint.html", context)


@router.get("/enterprise/tickets", response_class=HTMLResponse)
def ticket_queue(
    request: Request, session: SessionDep, actor: ActorDep, department: str = ""
) -> Response:
    now = clock.now()
    queue = tickets.queue(session=session, actor=actor, department=department or None)
    summary = tickets.open_summary(session=session, actor=actor, now=now)
    ages = ["<24h", "24-72h", ">72h"]
    departments = [str(d) for d in Department]
    grid = {(row.department, row.age): row.open_tickets for row in summary}
    context = {
        "queue": queue,
        "department": department,
        "departments": departments,
        "ages": ages,
        "grid": grid,
        "now": now,
        "escalated": request.query_params.get("escalated"),
    }
    return render(request, "enterprise/tickets.html", context)


@router.post("/enterprise/tickets/escalate")
def escalate_overdue(session: SessionDep, actor: ActorDep) -> Response:
    """Run the overdue escalation now (the scheduler does it too; it is idempotent)."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    moved = tickets.escalate_overdue(session=session, now=clock.now())
    session.commit()
    return _see_other(f"/enterprise/tickets?escalated={moved}")


@router.post("/enterprise/tickets/{ticket_id:int}/close")
def close_ticket(
    session: SessionDep,
    actor: ActorDep,
    ticket_id: int,
    resolution: Annotated[str, Form()] = "",
    department: Annotated[str, Form()] = "",
) -> Response:
    tickets.close_ticket(session=session, actor=actor, ticket_id=ticket_id, resolution=resolution)
    session.commit()
    return _see_other(f"/enterprise/tickets?department={department}")
