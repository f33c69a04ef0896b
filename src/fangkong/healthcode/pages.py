"""Health-code pages: the resident's code (a rotating QR), the checkpoint (两码查验), overrides,
appeals and the unexplained-code report. Phone first (360 px)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.errors import FangkongError
from fangkong.healthcode import (
    appeals,
    checkpoint,
    explain,
    overrides,
    qr,
    rules,
    service,
    tokens,
    views,
)
from fangkong.healthcode.enums import AppealStatus, OverrideStatus
from fangkong.healthcode.errors import HealthCodeError
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.schemas import AppealDecisionIn
from fangkong.registry import persons
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import TEMPLATES_DIR, render, request_locale

router = APIRouter(include_in_schema=False)
# The phone asks for a new token before the one it shows expires (one minute).
QR_REFRESH_SECONDS = 50
SCANNER_SCRIPT = "js/scanner.js"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _local_datetime(value: str) -> datetime | None:
    """A ``datetime-local`` form value, read in the city's time."""
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise HealthCodeError(
            Code.OVERRIDE_EXPIRY_REQUIRED, f"{value!r} is not a date and time", field="expires_at"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=explain.CITY_TZ)


def _qr_context(person_id: int, colour: str) -> dict[str, object]:
    issued = views.issue_for(person_id, colour)
    return {
        "qr_svg": qr.svg(issued.token, label=colour),
        "token": issued.token,
        "token_expires": issued.expires_at,
        "refresh_seconds": QR_REFRESH_SECONDS,
        "colour": colour,
    }


@router.get("/my-code", response_class=HTMLResponse)
def my_code(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.SELF_SERVICE)
    person = appeals.own_person(session=session, actor=actor)
    now = clock.now()
    code = service.current_code(session=session, person_id=person.id, now=now)
    session.commit()
    decision, facts = service.decide(session=session, person_id=person.id, now=now)
    told = explain.explain(decision=decision, facts=facts, now=now, locale=request_locale(request))
    history = appeals.appeals_of(session=session, person_id=person.id)
    context = {
        "person": person,
        "code": code,
        "told": told,
        "appeals": history,
        "has_open_appeal": any(a.status == AppealStatus.OPEN for a in history),
        **_qr_context(person.id, code.colour),
    }
    return render(request, "healthcode/my_code.html", context)


@router.get("/my-code/qr", response_class=HTMLResponse)
def my_code_qr(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The QR alone, fetched again by the page every ``QR_REFRESH_SECONDS``."""
    actor.require(Permission.SELF_SERVICE)
    person = appeals.own_person(session=session, actor=actor)
    code = service.current_code(session=session, person_id=person.id, now=clock.now())
    session.commit()
    return render(request, "healthcode/_qr.html", _qr_context(person.id, code.colour))


@router.post("/my-code/appeal")
def my_code_appeal(
    session: SessionDep, actor: ActorDep, text: Annotated[str, Form()] = ""
) -> Response:
    appeals.submit_appeal(session=session, actor=actor, text=text, now=clock.now())
    session.commit()
    return _see_other("/my-code")


@router.get("/checkpoint", response_class=HTMLResponse)
def checkpoint_page(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.HEALTHCODE_VERIFY)
    context = {"result": None, "refusal": None, "has_scanner": _has_scanner()}
    return render(request, "healthcode/checkpoint.html", context)


def _has_scanner() -> bool:
    # The camera scanner is another page's script; the page includes it only when it exists.
    return (TEMPLATES_DIR.parent / "static" / SCANNER_SCRIPT).exists()


@router.post("/checkpoint/verify", response_class=HTMLResponse)
def checkpoint_verify(
    request: Request, session: SessionDep, actor: ActorDep, token: Annotated[str, Form()] = ""
) -> Response:
    """Verify one scanned token; answers the result fragment (HTMX) or the whole page."""
    actor.require(Permission.HEALTHCODE_VERIFY)
    result, refusal = None, None
    try:
        result = checkpoint.check(
            session=session,
            actor=actor,
            token=token,
            now=clock.now(),
            public_keys=views.public_keys(),
        )
    except tokens.TokenRefused as refused:
        refusal = str(refused.code)
    context = {"result": result, "refusal": refusal, "has_scanner": _has_scanner()}
    template = (
        "healthcode/_check_result.html"
        if request.headers.get("hx-request")
        else "healthcode/checkpoint.html"
    )
    return render(request, template, context)


@router.get("/healthcode/persons/{person_id}", response_class=HTMLResponse)
def person_code(request: Request, session: SessionDep, actor: ActorDep, person_id: int) -> Response:
    actor.require(Permission.HEALTHCODE_VIEW)
    person = persons.get_person_or_raise(session=session, actor=actor, person_id=person_id)
    now = clock.now()
    code = service.current_code(session=session, person_id=person.id, now=now)
    session.commit()
    decision, facts = service.decide(session=session, person_id=person.id, now=now)
    told = explain.explain(decision=decision, facts=facts, now=now, locale=request_locale(request))
    context = {"person": person, "code": code, "told": told}
    return render(request, "healthcode/person.html", context)


@router.get("/healthcode/overrides", response_class=HTMLResponse)
def overrides_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.HEALTHCODE_VIEW)
    context = {
        "overrides": overrides.list_overrides(session=session, actor=actor),
        "can_request": actor.can(Permission.HEALTHCODE_OVERRIDE),
        "can_approve": actor.can(Permission.HEALTHCODE_APPROVE),
        "states": service.pack_in_force(now=clock.now()).states,
        "pending": str(OverrideStatus.PENDING),
        "active": str(OverrideStatus.ACTIVE),
    }
    return render(request, "healthcode/overrides.html", context)


@router.post("/healthcode/overrides")
def request_override(
    session: SessionDep,
    actor: ActorDep,
    person_id: Annotated[int, Form()],
    colour: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    expires_at: Annotated[str, Form()] = "",
) -> Response:
    request = overrides.OverrideRequest(person_id, colour, reason, _local_datetime(expires_at))
    overrides.request_override(session=session, actor=actor, request=request, now=clock.now())
    session.commit()
    return _see_other("/healthcode/overrides")


@router.post("/healthcode/overrides/{override_id}/{action}")
def decide_override(
    session: SessionDep,
    actor: ActorDep,
    override_id: int,
    action: str,
    note: Annotated[str, Form()] = "",
) -> Response:
    now = clock.now()
    if action == "approve":
        overrides.approve_override(
            session=session, actor=actor, override_id=override_id, now=now, note=note
        )
    elif action == "refuse":
        overrides.refuse_override(
            session=session, actor=actor, override_id=override_id, now=now, note=note
        )
    elif action == "revoke":
        overrides.revoke_override(
            session=session, actor=actor, override_id=override_id, now=now, note=note
        )
    else:
        raise FangkongError(Code.OVERRIDE_NOT_FOUND, f"no action {action!r}", status=404)
    session.commit()
    return _see_other("/healthcode/overrides")


@router.get("/healthcode/appeals", response_class=HTMLResponse)
def appeals_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    found = appeals.list_appeals(session=session, actor=actor)
    now = clock.now()
    context = {
        "appeals": [
            (a, rules.is_overdue(due_at=a.due_at, decided_at=a.decided_at, now=now)) for a in found
        ],
        "states": service.pack_in_force(now=now).states,
        "can_override": actor.can(Permission.HEALTHCODE_OVERRIDE),
    }
    return render(request, "healthcode/appeals.html", context)


@router.post("/healthcode/appeals/{appeal_id}/decide")
def decide_appeal(
    session: SessionDep,
    actor: ActorDep,
    appeal_id: int,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    override_colour: Annotated[str, Form()] = "",
    override_expires_at: Annotated[str, Form()] = "",
) -> Response:
    body = AppealDecisionIn(
        decision=decision,
        reason=reason,
        override_colour=override_colour or None,
        override_expires_at=_local_datetime(override_expires_at),
    )
    views.decide_appeal(appeal_id, body, session, actor)
    return _see_other("/healthcode/appeals")


@router.get("/healthcode/unexplained", response_class=HTMLResponse)
def unexplained_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    found = service.unexplained_codes(session=session, actor=actor, now=clock.now())
    return render(request, "healthcode/unexplained.html", {"found": found})
