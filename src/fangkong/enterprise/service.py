"""Enterprises, their staff, resumption applications and their review, daily staff reports and
resumption statistics.

Who may touch an enterprise: the industry bureau (``enterprise.review``) inside its
jurisdiction, and users linked to the enterprise (``enterprise.apply``). Status changes are
conditional UPDATEs on the old status, so two reviewers deciding at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit, clock
from fangkong.core.crypto import FieldCipher
from fangkong.core.errors import Conflict, FangkongError, NotFound, PermissionDenied
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.enterprise import events, rules
from fangkong.enterprise.enums import ApplicationStatus
from fangkong.enterprise.errors import EnterpriseErrorCode as E
from fangkong.enterprise.models import (
    ApplicationStaff,
    Enterprise,
    EnterpriseAccount,
    EnterpriseStaff,
    ResumptionApplication,
)
from fangkong.enterprise.schemas import EnterpriseCreate, PlanFields
from fangkong.registry import service as registry_service
from fangkong.registry.identity import id_number_lookup_keys
from fangkong.registry.models import Person


def register_enterprise(
    *, session: Session, actor: Actor, enterprise_in: EnterpriseCreate
) -> Enterprise:
    """Register an enterprise. An enterprise user who registers one is linked to it."""
    code = rules.normalise_credit_code(enterprise_in.credit_code)
    if not rules.is_valid_credit_code(code):
        raise FangkongError(
            E.CREDIT_CODE_INVALID,
            "not a valid unified social credit code (GB 32100-2015)",
            field="credit_code",
        )
    area = registry_service.get_by_code_or_raise(session=session, code=enterprise_in.area_code)
    actor.require_path(area.path)
    if session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
        raise Conflict(
            E.CREDIT_CODE_TAKEN, "this credit code is already registered", field="credit_code"
        )
    enterprise = Enterprise(
        **enterprise_in.model_dump(exclude={"credit_code", "area_code"}),
        credit_code=code,
        area_path=area.path,
        created_at=clock.now(),
    )
    session.add(enterprise)
    session.flush()
    if not actor.can(Permission.ENTERPRISE_REVIEW):
        session.add(EnterpriseAccount(enterprise_id=enterprise.id, user_id=actor.user_id))
    audit.record(
        session=session,
        actor=actor,
        action=events.ENTERPRISE_REGISTERED,
        subject_type=events.SUBJECT_ENTERPRISE,
        subject_id=enterprise.id,
        after={"credit_code": code, "name": enterprise.name, "area_path": area.path},
    )
    return enterprise


def get_for_actor(*, session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    """The enterprise if the actor may see it: the bureau within its jurisdiction, an enterprise
    user only their own. Not found and not allowed answer differently on purpose: the bureau
    needs to know it asked outside its area."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound(E.ENTERPRISE_NOT_FOUND, "no such enterprise", field="enterprise_id")
    if actor.can(Permission.ENTERPRISE_REVIEW):
        actor.require_path(enterprise.area_path)
        return enterprise
    linked = session.scalar(
        select(EnterpriseAccount.id).where(
            EnterpriseAccount.enterprise_id == enterprise_id,
            EnterpriseAccount.user_id == actor.user_id,
        )
    )
    if linked is None:
        raise PermissionDenied(E.NOT_YOUR_ENTERPRISE, "you do not act for this enterprise")
    return enterprise


def list_enterprises(*, session: Session, actor: Actor) -> list[Enterprise]:
    stmt = select(Enterprise).order_by(Enterprise.id)
    if actor.can(Permission.ENTERPRISE_REVIEW):
        stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Enterprise.area_path)
    else:
        stmt = stmt.join(EnterpriseAccount).where(EnterpriseAccount.user_id == actor.user_id)
    return list(session.scalars(stmt))


def _require_persons(session: Session, person_ids: list[int]) -> None:
    wanted = set(person_ids)
    found = set(session.scalars(select(Person.id).where(Person.id.in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise NotFound(E.PERSON_NOT_FOUND, f"no resident with id {missing[0]}", field="person_ids")


def link_staff(*, session: Session, actor: Actor, enterprise_id: int, person_ids: list[int]) -> int:
    """Link residents to the enterprise as staff; returns how many links were new."""
    get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    _require_persons(session, person_ids)
    existing = set(
        session.scalars(
            select(EnterpriseStaff.person_id).where(EnterpriseStaff.enterprise_id == enterprise_id)
        )
    )
    new = sorted(set(person_ids) - existing)
    session.add_all(EnterpriseStaff(enterprise_id=enterprise_id, person_id=p) for p in new)
    if new:
        audit.record(
            session=session,
            actor=actor,
            action=events.STAFF_LINKED,
            subject_type=events.SUBJECT_ENTERPRISE,
            subject_id=enterprise_id,
            after={"person_ids": new},
        )
    return len(new)


def _validate_plan(session: Session, plan: PlanFields) -> None:
    if not plan.staff_person_ids:
        raise FangkongError(E.STAFF_LIST_EMPTY, "the staff list is empty", field="staff_person_ids")
    _require_persons(session, plan.staff_person_ids)


def _plan_values(plan: PlanFields) -> dict[str, Any]:
    return plan.model_dump(exclude={"staff_person_ids"})


def submit_application(
    *, session: Session, actor: Actor, enterprise_id: int, plan: PlanFields
) -> ResumptionApplication:
    """Submit a resumption plan with its staff list. Refused while another one is pending."""
    get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    _validate_plan(session, plan)
    pending = session.scalar(
        select(ResumptionApplication.id).where(
            ResumptionApplication.enterprise_id == enterprise_id,
            ResumptionApplication.status.in_(
                [ApplicationStatus.SUBMITTED, ApplicationStatus.CHANGES_REQUESTED]
            ),
        )
    )
    if pending is not None:
        raise Conflict(E.APPLICATION_PENDING, f"application {pending} is still pending")
    application = ResumptionApplication(
        enterprise_id=enterprise_id,
        status=ApplicationStatus.SUBMITTED,
        revision=1,
        submitted_at=clock.now(),
        **_plan_values(plan),
    )
    session.add(application)
    session.flush()
    _replace_staff_list(session, application.id, plan.staff_person_ids)
    audit.record(
        session=session,
        actor=actor,
        action=events.APPLICATION_SUBMITTED,
        subject_type=events.SUBJECT_APPLICATION,
        subject_id=application.id,
        after={"status": application.status, "staff": len(set(plan.staff_person_ids))},
    )
    return application


def _replace_staff_list(session: Session, application_id: int, person_ids: list[int]) -> None:
    session.execute(
        delete(ApplicationStaff).where(ApplicationStaff.application_id == application_id)
    )
    session.add_all(
        ApplicationStaff(application_id=application_id, person_id=p)
        for p in sorted(set(person_ids))
    )
    session.flush()


def get_application(
    *, session: Session, actor: Actor, application_id: int
) -> ResumptionApplication:
    application = session.get(ResumptionApplication, application_id)
    if application is None:
        raise NotFound(E.APPLICATION_NOT_FOUND, "no such application", field="application_id")
    get_for_actor(session=session, actor=actor, enterprise_id=application.enterprise_id)
    return application


def _transition(
    session: Session,
    *,
    actor: Actor,
    application: ResumptionApplication,
    old: ApplicationStatus,
    new: ApplicationStatus,
    action: str,
    note: str | None,
    values: dict[str, Any],
) -> ResumptionApplication:
    """Move ``application`` from ``old`` to ``new`` atomically, or refuse if it had moved."""
    result = session.execute(
        update(ResumptionApplication)
        .where(ResumptionApplication.id == application.id, ResumptionApplication.status == old)
        .values(status=new, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(E.APPLICATION_STATUS, f"the application is no longer {old}", field="status")
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type=events.SUBJECT_APPLICATION,
        subject_id=application.id,
        before={"status": old},
        after={"status": new},
        reason=note,
    )
    session.refresh(application)
    return application


def review(
    *,
    session: Session,
    actor: Actor,
    application_id: int,
    decision: ApplicationStatus,
    note: str,
) -> ResumptionApplication:
    """The bureau's decision on a submitted application: approve, refuse (reason required) or
    ask for changes (what to change required)."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    application = get_application(session=session, actor=actor, application_id=application_id)
    note = note.strip()
    if decision is not ApplicationStatus.APPROVED and not note:
        raise FangkongError(E.REASON_REQUIRED, "say why", field="note")
    action = {
        ApplicationStatus.APPROVED: events.APPLICATION_APPROVED,
        ApplicationStatus.REFUSED: events.APPLICATION_REFUSED,
        ApplicationStatus.CHANGES_REQUESTED: events.APPLICATION_CHANGES_REQUESTED,
    }[decision]
    return _transition(
        session,
        actor=actor,
        application=application,
        old=ApplicationStatus.SUBMITTED,
        new=decision,
        action=action,
        note=note or None,
        values={
            "decided_at": clock.now(),
            "decided_by_user_id": actor.user_id,
            "review_note": note or None,
        },
    )


def resubmit(
    *, session: Session, actor: Actor, application_id: int, plan: PlanFields
) -> ResumptionApplication:
    """Send an application back to the bureau after it asked for changes."""
    application = get_application(session=session, actor=actor, application_id=application_id)
    _validate_plan(session, plan)
    application = _transition(
        session,
        actor=actor,
        application=application,
        old=ApplicationStatus.CHANGES_REQUESTED,
        new=ApplicationStatus.SUBMITTED,
        action=events.APPLICATION_RESUBMITTED,
        note=None,
        values={
            **_plan_values(plan),
            "revision": ResumptionApplication.revision + 1,
            "submitted_at": clock.now(),
        },
    )
    _replace_staff_list(session, application.id, plan.staff_person_ids)
    return application


def assign_liaison(
    *, session: Session, actor: Actor, application_id: int, liaison_user_id: int
) -> ResumptionApplication:
    """Name the officer stationed with the enterprise (驻企联络员)."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    application = get_application(session=session, actor=actor, application_id=application_id)
    before = application.liaison_user_id
    application.liaison_user_id = liaison_user_id
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=events.LIAISON_ASSIGNED,
        subject_type=events.SUBJECT_APPLICATION,
        subject_id=application.id,
        before={"liaison_user_id": before},
        after={"liaison_user_id": liaison_user_id},
    )
    return application


def approved_application(*, session: Session, enterprise_id: int) -> ResumptionApplication | None:
    """The enterprise's latest approved application (what it resumed under), if any."""
    return session.scalars(
        select(ResumptionApplication)
        .where(
            ResumptionApplication.enterprise_id == enterprise_id,
            ResumptionApplication.status == ApplicationStatus.APPROVED,
        )
        .order_by(ResumptionApplication.decided_at.desc(), ResumptionApplication.id.desc())
        .limit(1)
    ).first()


def approved_staff_ids(*, session: Session, application_id: int) -> set[int]:
    return set(
        session.scalars(
            select(ApplicationStaff.person_id).where(
                ApplicationStaff.application_id == application_id
            )
        )
    )


def list_applications(
    *, session: Session, actor: Actor, status: ApplicationStatus | None = None
) -> list[tuple[ResumptionApplication, Enterprise]]:
    """Applications the bureau may review (inside its jurisdiction), oldest submission first;
    an enterprise user sees those of their own enterprises."""
    stmt = select(ResumptionApplication, Enterprise).join(
        Enterprise, Enterprise.id == ResumptionApplication.enterprise_id
    )
    if status is not None:
        stmt = stmt.where(ResumptionApplication.status == status)
    if actor.can(Permission.ENTERPRISE_REVIEW):
        stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Enterprise.area_path)
    else:
        stmt = stmt.join(EnterpriseAccount, EnterpriseAccount.enterprise_id == Enterprise.id).where(
            EnterpriseAccount.user_id == actor.user_id
        )
    stmt = stmt.order_by(ResumptionApplication.submitted_at, ResumptionApplication.id)
    return [(application, enterprise) for application, enterprise in session.execute(stmt)]


def applications_of(
    *, session: Session, actor: Actor, enterprise_id: int
) -> list[ResumptionApplication]:
    """An enterprise's applications, newest first."""
    get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    return list(
        session.scalars(
            select(ResumptionApplication)
            .where(ResumptionApplication.enterprise_id == enterprise_id)
            .order_by(ResumptionApplication.id.desc())
        )
    )


def staff_list(*, session: Session, actor: Actor, application_id: int) -> list[Person]:
    """The people on an application's staff list (shown masked on screen)."""
    get_application(session=session, actor=actor, application_id=application_id)
    return list(
        session.scalars(
            select(Person)
            .join(ApplicationStaff, ApplicationStaff.person_id == Person.id)
            .where(ApplicationStaff.application_id == application_id)
            .order_by(Person.name, Person.id)
        )
    )


@dataclass(frozen=True)
class StaffLineProblem:
    line: int
    code: str
    message: str


def resolve_staff_numbers(
    *, session: Session, actor: Actor, cipher: FieldCipher, lines: Iterable[str]
) -> tuple[list[int], list[StaffLineProblem]]:
    """Resident ID numbers of an uploaded staff list (one per line; the first comma- or
    tab-separated field; blank lines and a header without digits skipped) → the residents
    inside the caller's jurisdiction. Every number not found is reported with its line."""
    person_ids: list[int] = []
    problems: list[StaffLineProblem] = []
    for number, raw in enumerate(lines, start=1):
        value = raw.replace("\t", ",").split(",")[0].strip().strip('"')
        if not value or not any(ch.isdigit() for ch in value):
            continue
        stmt = scope_to_jurisdiction(
            select(Person.id).where(
                Person.id_number_index.in_(id_number_lookup_keys(cipher, value))
            ),
            actor=actor,
            path_column=Person.area_path,
        )
        person_id = session.scalar(stmt)
        if person_id is None:
            problems.append(
                StaffLineProblem(
                    number, E.STAFF_NUMBER_UNKNOWN, "no resident with this ID number in your area"
                )
            )
        else:
            person_ids.append(person_id)
    return list(dict.fromkeys(person_ids)), problems
