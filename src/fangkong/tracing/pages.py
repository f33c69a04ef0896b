"""Tracing pages: the case list, a case with its investigation (trajectory, confirmation,
contacts with their evidence), the new-case form, the contact list and the transmission graph.

Times in forms are read in the installation's time zone (Asia/Shanghai by default) and shown
in it; they are stored in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from fangkong.accounts.enums import Permission
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.registry import service as registry_service
from fangkong.registry.enums import AreaLevel
from fangkong.registry.models import Area, Venue
from fangkong.tracing import actions, rules, selfcheck, service
from fangkong.tracing.enums import (
    CaseKind,
    CaseStatus,
    ContactStatus,
    DetectionRoute,
    Severity,
    TrajectoryKind,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Case, Investigation, TransmissionLink
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _parsed(parse: Callable[[str], T], value: str, field: str) -> T | None:
    """A form field parsed, None when empty; a value that does not parse is refused like the
    API would refuse it, instead of failing as a server error."""
    if not value.strip():
        return None
    try:
        return parse(value.strip())
    except ValueError as exc:
        raise FangkongError(
            CoreErrorCode.REQUEST_INVALID, f"{value!r} is not valid here", field=field
        ) from exc


def _local_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=_zone())


def _district_path(session: SessionDep, actor: Actor, code: str) -> str | None:
    if not code.strip():
        return None
    return registry_service.get_in_jurisdiction(
        session=session, actor=actor, code=code.strip()
    ).path


def _districts(session: SessionDep, actor: Actor) -> list[Any]:
    root = registry_service.get_by_path(session=session, path=actor.jurisdiction_path or "")
    if root is None:
        return []
    return registry_service.list_children(session=session, actor=actor, parent_code=root.code)


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: str = "",
    kind: str = "",
    district: str = "",
) -> Response:
    actor.require(Permission.TRACING_VIEW)
    cases = service.list_cases(
        session=session,
        actor=actor,
        status=_parsed(CaseStatus, status, "status"),
        kind=_parsed(CaseKind, kind, "kind"),
        area_path=_district_path(session, actor, district),
    )
    people = service.people_by_id(session=session, ids={case.person_id for case in cases})
    context = {
        "cases": cases,
        "people": people,
        "filters": {"status": status, "kind": kind, "district": district},
        "statuses": [str(s) for s in CaseStatus],
        "kinds": [str(k) for k in CaseKind],
        "districts": _districts(session, actor),
        "local": _local,
        "can_investigate": actor.can(Permission.TRACING_INVESTIGATE),
    }
    return render(request, "tracing/cases.html", context)


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request, actor: ActorDep, person_id: str = "") -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    context = {
        "person_id": person_id,
        "kinds": [str(k) for k in CaseKind],
        "routes": [str(r) for r in DetectionRoute],
        "severities": [str(s) for s in Severity],
        "zone": get_settings().timezone,
    }
    return render(request, "tracing/case_new.html", context)


@router.post("/cases")
def create_case(
    session: SessionDep,
    actor: ActorDep,
    person_id: Annotated[int, Form()],
    kind: Annotated[str, Form()],
    detection_route: Annotated[str, Form()],
    onset_date: Annotated[str, Form()] = "",
    sampled_at: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    source_ref: Annotated[str, Form()] = "",
) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    case = service.create_case(
        session=session,
        actor=actor,
        person_id=person_id,
        kind=CaseKind(_parsed(CaseKind, kind, "kind") or CaseKind.CONFIRMED),
        detection_route=_parsed(DetectionRoute, detection_route, "detection_route")
        or DetectionRoute.OTHER,
        onset_date=_parsed(date.fromisoformat, onset_date, "onset_date"),
        sampled_at=_parsed(_local_time, sampled_at, "sampled_at"),
        severity=_parsed(Severity, severity, "severity"),
        source_ref=source_ref.strip()[:120] or None,
    )
    session.commit()
    return _see_other(f"/cases/{case.id}")


@router.post("/cases/from-positive-results")
def cases_from_positive_results(session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    actions.open_cases_from_positive_results(session=session, actor=actor)
    session.commit()
    return _see_other("/cases?status=reported")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, session: SessionDep, actor: ActorDep, case_id: int) -> Response:
    actor.require(Permission.TRACING_VIEW)
    case = service.get_case_or_raise(session=session, actor=actor, case_id=case_id)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None  # every case opens one
    entries = service.trajectory(session=session, investigation_id=investigation.id)
    contacts = service.contacts_of(session=session, investigation_id=investigation.id)
    evidence = service.evidence_of(session=session, contact_ids=[c.id for c in contacts])
    venue_ids = {e.venue_id for e in entries if e.venue_id} | {
        row.venue_id for rows in evidence.values() for row in rows if row.venue_id
    }
    venues = {
        venue.id: venue for venue in session.scalars(select(Venue).where(Venue.id.in_(venue_ids)))
    }
    people = service.people_by_id(
        session=session,
        ids={case.person_id}
        | {c.person_id for c in contacts}
        | {row.via_person_id for rows in evidence.values() for row in rows if row.via_person_id},
    )
    context = {
        "case": case,
        "person": people.get(case.person_id),
        "investigation": investigation,
        "entries": entries,
        "contacts": contacts,
        "evidence": evidence,
        "venues": venues,
        "people": people,
        "local": _local,
        "next_statuses": sorted(str(s) for s in rules.CASE_TRANSITIONS[CaseStatus(case.status)]),
        "can_reclassify": rules.can_reclassify(CaseKind(case.kind), CaseStatus(case.status)),
        "can_investigate": actor.can(Permission.TRACING_INVESTIGATE)
        and actor.covers_path(case.area_path),
        "entry_kinds": [str(TrajectoryKind.PLACE), str(TrajectoryKind.TRANSPORT)],
        "severities": [str(s) for s in Severity],
        "zone": get_settings().timezone,
    }
    return render(request, "tracing/case.html", context)


@router.post("/cases/{case_id}/status")
def change_status(
    session: SessionDep,
    actor: ActorDep,
    case_id: int,
    status: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    target = _parsed(CaseStatus, status, "status")
    if target is None:
        raise FangkongError(CoreErrorCode.REQUEST_INVALID, "choose a status", field="status")
    service.advance_status(
        session=session, actor=actor, case_id=case_id, to=target, reason=reason.strip() or None
    )
    session.commit()
    return _see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/reclassify")
def reclassify(
    session: SessionDep,
    actor: ActorDep,
    case_id: int,
    severity: Annotated[str, Form()] = "",
) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    service.reclassify(
        session=session,
        actor=actor,
        case_id=case_id,
        severity=_parsed(Severity, severity, "severity"),
    )
    session.commit()
    return _see_other(f"/cases/{case_id}")


def _case_of(session: SessionDep, investigation_id: int) -> int:
    investigation = session.get(Investigation, investigation_id)
    return investigation.case_id if investigation else 0


@router.post("/investigations/{investigation_id}/entries")
def add_entry(
    session: SessionDep,
    actor: ActorDep,
    investigation_id: int,
    kind: Annotated[str, Form()],
    started_at: Annotated[str, Form()],
    ended_at: Annotated[str, Form()] = "",
    venue_id: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    service.add_trajectory_entry(
        session=session,
        actor=actor,
        investigation_id=investigation_id,
        kind=_parsed(TrajectoryKind, kind, "kind") or TrajectoryKind.PLACE,
        started_at=_parsed(_local_time, started_at, "started_at"),
        ended_at=_parsed(_local_time, ended_at, "ended_at"),
        venue_id=_parsed(int, venue_id, "venue_id"),
        description=description,
    )
    session.commit()
    return _see_other(f"/cases/{_case_of(session, investigation_id)}#trajectory")


@router.post("/investigations/{investigation_id}/entries/{entry_id}/removal")
def remove_entry(
    session: SessionDep,
    actor: ActorDep,
    investigation_id: int,
    entry_id: int,
    removed: Annotated[str, Form()] = "1",
) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    service.set_entry_removed(
        session=session,
        actor=actor,
        investigation_id=investigation_id,
        entry_id=entry_id,
        removed=removed == "1",
    )
    session.commit()
    return _see_other(f"/cases/{_case_of(session, investigation_id)}#trajectory")


@router.post("/investigations/{investigation_id}/confirm")
def confirm(session: SessionDep, actor: ActorDep, investigation_id: int) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    started = clock.now()
    investigation, _ = actions.confirm_investigation(
        session=session, actor=actor, investigation_id=investigation_id
    )
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return _see_other(f"/cases/{investigation.case_id}#contacts")


@router.post("/investigations/{investigation_id}/find-contacts")
def find_contacts(session: SessionDep, actor: ActorDep, investigation_id: int) -> Response:
    actor.require(Permission.TRACING_INVESTIGATE)
    actions.find_contacts(session=session, actor=actor, investigation_id=investigation_id)
    session.commit()
    return _see_other(f"/cases/{_case_of(session, investigation_id)}#contacts")


@router.get("/contacts", response_class=HTMLResponse)
def contact_list(
    request: Request, session: SessionDep, actor: ActorDep, status: str = "identified"
) -> Response:
    actor.require(Permission.TRACING_VIEW)
    contacts = service.list_contacts(
        session=session, actor=actor, status=_parsed(ContactStatus, status, "status")
    )
    people = service.people_by_id(session=session, ids={c.person_id for c in contacts})
    evidence = service.evidence_of(session=session, contact_ids=[c.id for c in contacts])
    context = {
        "contacts": contacts,
        "people": people,
        "evidence": evidence,
        "status": status,
        "statuses": [str(s) for s in ContactStatus],
        "local": _local,
    }
    return render(request, "tracing/contacts.html", context)


# The transmission graph: each cluster drawn left to right by generation.
NODE_GAP_X = 120
NODE_GAP_Y = 56
MARGIN = 40


def graph_layout(links: list[TransmissionLink], cases: dict[int, Case]) -> dict[str, Any]:
    """Node positions and edges of an SVG of the clusters: one band per cluster, the index
    case(s) on the left, each generation one column further right. Pure layout, no I/O."""
    children: dict[int, list[int]] = {}
    has_parent: set[int] = set()
    for link in links:
        children.setdefault(link.infector_case_id, []).append(link.infectee_case_id)
        has_parent.add(link.infectee_case_id)
    groups = rules.clusters((link.infector_case_id, link.infectee_case_id) for link in links)
    nodes: dict[int, tuple[int, int]] = {}
    top = MARGIN
    bands = []
    for group in groups:
        generation: dict[int, int] = {}
        frontier = [node for node in group if node not in has_parent] or [group[0]]
        for node in frontier:
            generation[node] = 0
        while frontier:
            following = []
            for node in frontier:
                for child in sorted(children.get(node, [])):
                    if child not in generation:
                        generation[child] = generation[node] + 1
                        following.append(child)
            frontier = following
        rows: dict[int, int] = {}
        for node in group:
            column = generation.get(node, 0)
            rows[column] = rows.get(column, 0) + 1
            nodes[node] = (MARGIN + column * NODE_GAP_X, top + (rows[column] - 1) * NODE_GAP_Y)
        height = max(rows.values()) * NODE_GAP_Y
        bands.append({"top": top - 24, "height": height, "size": len(group), "first": group[0]})
        top += height + NODE_GAP_Y
    width = max((x for x, _ in nodes.values()), default=0) + NODE_GAP_X + MARGIN
    return {
        "nodes": [
            {"id": node, "x": x, "y": y, "kind": cases[node].kind if node in cases else ""}
            for node, (x, y) in sorted(nodes.items())
        ],
        "edges": [
            {
                "x1": nodes[link.infector_case_id][0],
                "y1": nodes[link.infector_case_id][1],
                "x2": nodes[link.infectee_case_id][0],
                "y2": nodes[link.infectee_case_id][1],
                "basis": link.basis,
                "confidence": link.confidence,
            }
            for link in links
            if link.infector_case_id in nodes and link.infectee_case_id in nodes
        ],
        "bands": bands,
        "width": max(width, 320),
        "height": max(top, 120),
    }


@router.get("/clusters", response_class=HTMLResponse)
def cluster_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Chains and clusters as a server-drawn SVG (no script, no CDN)."""
    actor.require(Permission.TRACING_VIEW)
    links = service.links_in_scope(session=session, actor=actor)
    ids = {link.infector_case_id for link in links} | {link.infectee_case_id for link in links}
    cases = {case.id: case for case in session.query(Case).filter(Case.id.in_(list(ids or {0})))}
    stats = rules.cluster_stats(
        ((link.infector_case_id, link.infectee_case_id) for link in links),
        {case.id: rules.case_anchor(case.onset_date, case.sampled_at) for case in cases.values()},
    )
    context = {"graph": graph_layout(links, cases), "links": links, "stats": stats}
    return render(request, "tracing/clusters.html", context)


# --- Self-check (自查) ------------------------------------------------------------------------

PICKER_LIMIT = 500


def _self_check_context(session: SessionDep) -> dict[str, Any]:
    venues = session.scalars(select(Venue).order_by(Venue.name).limit(PICKER_LIMIT)).all()
    areas = session.scalars(
        select(Area)
        .where(Area.level.in_([str(AreaLevel.COUNTY), str(AreaLevel.TOWNSHIP)]))
        .order_by(Area.path)
        .limit(PICKER_LIMIT)
    ).all()
    today = clock.now().astimezone(_zone()).date()
    return {
        "venues": venues,
        "areas": areas,
        "today": today.isoformat(),
        "earliest": (today - rules.SELF_CHECK_LOOKBACK).isoformat(),
        "answer": None,
        "refusal": None,
    }


@router.get("/self-check", response_class=HTMLResponse)
def self_check_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    selfcheck.own_person(session=session, actor=actor)
    return render(request, "tracing/self_check.html", _self_check_context(session))


def _form_itinerary(
    venue_id: str, day: str, start: str, end: str, area_id: str, area_day: str
) -> tuple[list[selfcheck.VenueStay], list[selfcheck.AreaDay]]:
    venues: list[selfcheck.VenueStay] = []
    areas: list[selfcheck.AreaDay] = []
    venue = _parsed(int, venue_id, "venue_id")
    if venue is not None:
        on = _parsed(date.fromisoformat, day, "day")
        if on is None or not start.strip() or not end.strip():
            raise FangkongError(
                TracingErrorCode.SELF_CHECK_ITEM_INVALID, "give the day and the times", field="day"
            )
        begins = _parsed(_local_time, f"{on.isoformat()}T{start.strip()}", "start")
        ends = _parsed(_local_time, f"{on.isoformat()}T{end.strip()}", "end")
        assert begins is not None and ends is not None
        venues.append(selfcheck.VenueStay(venue, begins, ends))
    area = _parsed(int, area_id, "area_id")
    if area is not None:
        on = _parsed(date.fromisoformat, area_day, "area_day")
        if on is None:
            raise FangkongError(
                TracingErrorCode.SELF_CHECK_ITEM_INVALID, "give the day", field="area_day"
            )
        areas.append(selfcheck.AreaDay(area, on))
    return venues, areas


@router.post("/self-check", response_class=HTMLResponse)
def self_check_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    venue_id: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    area_id: Annotated[str, Form()] = "",
    area_day: Annotated[str, Form()] = "",
) -> Response:
    selfcheck.own_person(session=session, actor=actor)
    context = _self_check_context(session)
    try:
        venues, areas = _form_itinerary(venue_id, day, start, end, area_id, area_day)
        context["answer"] = selfcheck.self_check(
            session=session,
            actor=actor,
            venues=venues,
            areas=areas,
            ip=request.client.host if request.client else None,
            now=clock.now(),
        )
        session.commit()
    except FangkongError as refusal:
        session.rollback()
        context["refusal"] = refusal
    status = 200 if context["refusal"] is None else context["refusal"].status
    return render(request, "tracing/self_check.html", context, status=status)
