"""Passes: bulk issue of whitelist cards, freight-vehicle passes, revocation, the PDF sheet and
the checkpoint check.

Issuing and revoking are done by the industry bureau. A whitelist card may only name someone
on the staff list of the enterprise's approved application. The check reads the pass row at
every scan, so a revocation takes effect at the next check, and it never admits anyone whose
health code is not green.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor
from fangkong.enterprise import events, passes, rules, sheets
from fangkong.enterprise.enums import ApplicationStatus, HealthColour, PassKind, PassStatus
from fangkong.enterprise.errors import EnterpriseErrorCode as E
from fangkong.enterprise.models import Enterprise, EnterprisePass, ResumptionApplication
from fangkong.enterprise.schemas import CheckpointAnswer, FreightIssue, WhitelistIssue
from fangkong.enterprise.service import approved_staff_ids, get_application, get_for_actor
from fangkong.healthcode import service as healthcode_service
from fangkong.registry.models import Person

SERIAL_BYTES = 10  # 80 random bits: serials cannot be guessed from one another


@dataclass(frozen=True)
class Issued:
    pass_id: int
    serial: str
    kind: PassKind
    person_id: int | None
    plate: str | None
    token: str


def _approved(session: Session, actor: Actor, application_id: int) -> ResumptionApplication:
    actor.require(Permission.ENTERPRISE_REVIEW)
    application = get_application(session=session, actor=actor, application_id=application_id)
    if application.status != ApplicationStatus.APPROVED:
        raise Conflict(E.NOT_APPROVED, "passes are issued only under an approved application")
    return application


def _check_window(valid_from: datetime, valid_until: datetime) -> None:
    if not rules.is_valid_window(valid_from, valid_until):
        raise FangkongError(
            E.PASS_VALIDITY_INVALID, "a pass must end after it starts", field="valid_until"
        )


def _new_serial() -> str:
    return secrets.token_hex(SERIAL_BYTES).upper()


def issue_whitelist_passes(
    *, session: Session, actor: Actor, keys: passes.PassKeys, issue_in: WhitelistIssue
) -> list[Issued]:
    """Issue one whitelist card per person (everyone on the approved staff list when
    ``issue_in.person_ids`` is None). All or nothing: one person not on the list refuses the
    whole batch, so a sheet never goes out with a gap nobody noticed."""
    application = _approved(session, actor, issue_in.application_id)
    _check_window(issue_in.valid_from, issue_in.valid_until)
    staff = approved_staff_ids(session=session, application_id=application.id)
    wanted = (
        sorted(staff) if issue_in.person_ids is None else list(dict.fromkeys(issue_in.person_ids))
    )
    outsiders = [p for p in wanted if p not in staff]
    if outsiders:
        raise FangkongError(
            E.PASS_PERSON_NOT_ON_STAFF_LIST,
            f"resident {outsiders[0]} is not on the approved staff list",
            field="person_ids",
        )
    now = clock.now()
    rows = [
        {
            "serial": _new_serial(),
            "kind": PassKind.WHITELIST,
            "enterprise_id": application.enterprise_id,
            "application_id": application.id,
            "person_id": person_id,
            "route": issue_in.route,
            "sites": issue_in.sites,
            "valid_from": issue_in.valid_from,
            "valid_until": issue_in.valid_until,
            "status": PassStatus.ACTIVE,
            "issued_at": now,
        }
        for person_id in wanted
    ]
    issued = _insert(session, rows, keys)
    _record_issue(session, actor, application.id, PassKind.WHITELIST, issued)
    return issued


def issue_freight_pass(
    *, session: Session, actor: Actor, keys: passes.PassKeys, issue_in: FreightIssue
) -> Issued:
    """A pass for one freight vehicle, its driver, route and loading points."""
    application = _approved(session, actor, issue_in.application_id)
    plate = rules.normalise_plate(issue_in.plate)
    if not rules.is_valid_plate(plate):
        raise FangkongError(E.PASS_PLATE_INVALID, "not a mainland number plate", field="plate")
    _check_window(issue_in.valid_from, issue_in.valid_until)
    row = {
        "serial": _new_serial(),
        "kind": PassKind.FREIGHT,
        "enterprise_id": application.enterprise_id,
        "application_id": application.id,
        "plate": plate,
        "driver_name": issue_in.driver_name,
        "route": issue_in.route,
        "sites": issue_in.loading_points,
        "valid_from": issue_in.valid_from,
        "valid_until": issue_in.valid_until,
        "status": PassStatus.ACTIVE,
        "issued_at": clock.now(),
    }
    issued = _insert(session, [row], keys)
    _record_issue(session, actor, application.id, PassKind.FREIGHT, issued)
    return issued[0]


def _insert(session: Session, rows: list[dict[str, Any]], keys: passes.PassKeys) -> list[Issued]:
    if not rows:
        return []
    ids = session.scalars(
        insert(EnterprisePass).returning(EnterprisePass.id, sort_by_parameter_order=True), rows
    ).all()
    return [
        Issued(
            pass_id=pass_id,
            serial=row["serial"],
            kind=row["kind"],
            person_id=row.get("person_id"),
            plate=row.get("plate"),
            token=passes.sign(keys=keys, serial=row["serial"], kind=row["kind"]),
        )
        for pass_id, row in zip(ids, rows, strict=True)
    ]


def _record_issue(
    session: Session, actor: Actor, application_id: int, kind: PassKind, issued: list[Issued]
) -> None:
    # One event per batch: it lists every serial, so each pass is still traceable to it.
    audit.record(
        session=session,
        actor=actor,
        action=events.PASSES_ISSUED,
        subject_type=events.SUBJECT_APPLICATION,
        subject_id=application_id,
        after={"kind": kind, "count": len(issued), "serials": [i.serial for i in issued]},
    )


def list_passes(*, session: Session, actor: Actor, application_id: int) -> list[EnterprisePass]:
    """Every pass issued under an application, newest first."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    get_application(session=session, actor=actor, application_id=application_id)
    return list(
        session.scalars(
            select(EnterprisePass)
            .where(EnterprisePass.application_id == application_id)
            .order_by(EnterprisePass.id.desc())
        )
    )


def revoke_pass(*, session: Session, actor: Actor, pass_id: int, reason: str) -> EnterprisePass:
    """Revoke an active pass; it is refused from its next scan on."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    record = session.get(EnterprisePass, pass_id)
    if record is None:
        raise NotFound(E.PASS_NOT_FOUND, "no such pass", field="pass_id")
    get_for_actor(session=session, actor=actor, enterprise_id=record.enterprise_id)
    if not reason.strip():
        raise FangkongError(E.REASON_REQUIRED, "say why the pass is revoked", field="reason")
    now = clock.now()
    result = session.execute(
        update(EnterprisePass)
        .where(EnterprisePass.id == pass_id, EnterprisePass.status == PassStatus.ACTIVE)
        .values(status=PassStatus.REVOKED, revoked_at=now, revoked_reason=reason.strip())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(E.PASS_ALREADY_REVOKED, "the pass is already revoked")
    audit.record(
        session=session,
        actor=actor,
        action=events.PASS_REVOKED,
        subject_type=events.SUBJECT_PASS,
        subject_id=pass_id,
        before={"status": PassStatus.ACTIVE},
        after={"status": PassStatus.REVOKED},
        reason=reason.strip(),
    )
    session.refresh(record)
    return record


def check_at_checkpoint(
    *,
    session: Session,
    actor: Actor,
    keys: passes.PassKeys,
    token: str,
    health_colour: HealthColour | None,
    site: str | None,
) -> CheckpointAnswer:
    """What the checkpoint shows for a scanned pass: the pass, the holder's health code and
    the decision. A whitelist card's holder is a resident, so the colour is read from the
    health-code domain (``health_colour`` is ignored); for a freight pass it is the colour of
    the driver's code the checkpoint has just read. The pass row is read at every scan, so a
    revocation takes effect at the next check."""
    actor.require(Permission.HEALTHCODE_VERIFY)
    try:
        claims = passes.verify(keys=keys, token=token)
    except passes.PassTokenRefused as refusal:
        return CheckpointAnswer(is_admitted=False, code=refusal.code)
    found = session.execute(
        select(EnterprisePass, Enterprise.name, Person.name, Person.id_number_masked)
        .join(Enterprise, Enterprise.id == EnterprisePass.enterprise_id)
        .outerjoin(Person, Person.id == EnterprisePass.person_id)
        .where(EnterprisePass.serial == claims.serial)
    ).one_or_none()
    if found is None:
        return CheckpointAnswer(is_admitted=False, code=E.PASS_NOT_FOUND, serial=claims.serial)
    record, enterprise_name, holder_name, holder_id_masked = found._tuple()
    health: dict[str, Any]
    if record.person_id is not None:
        code = healthcode_service.get(session=session, person_id=record.person_id)
        health = {
            "health_colour": code.colour if code else None,
            "health_source": "healthcode",
            "health_rule_id": code.rule_id if code else None,
            "health_pack": f"{code.pack_id}@{code.pack_version}" if code else None,
        }
    else:
        health = {
            "health_colour": str(health_colour) if health_colour else None,
            "health_source": "scanned",
        }
    decision = rules.checkpoint_decision(
        is_revoked=record.status == PassStatus.REVOKED,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        permitted_sites=list(record.sites),
        site=site,
        health_colour=health["health_colour"],
        now=clock.now(),
    )
    return CheckpointAnswer(
        is_admitted=decision.is_admitted,
        code=decision.code,
        serial=record.serial,
        kind=record.kind,
        status=record.status,
        enterprise_name=enterprise_name,
        holder_name=holder_name,
        holder_id_masked=holder_id_masked,
        plate=record.plate,
        driver_name=record.driver_name,
        route=record.route,
        sites=list(record.sites),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        **health,
    )


def pass_sheet(
    *,
    session: Session,
    actor: Actor,
    keys: passes.PassKeys,
    application_id: int,
    timezone: str = "Asia/Shanghai",
) -> bytes:
    """The PDF of every active pass issued under an application, whitelist cards first."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    application = get_application(session=session, actor=actor, application_id=application_id)
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None  # the application's foreign key guarantees it
    zone = ZoneInfo(timezone)
    rows = session.execute(
        select(EnterprisePass, Person.name, Person.id_number_masked)
        .outerjoin(Person, Person.id == EnterprisePass.person_id)
        .where(
            EnterprisePass.application_id == application_id,
            EnterprisePass.status == PassStatus.ACTIVE,
        )
        .order_by(EnterprisePass.kind.desc(), EnterprisePass.id)
    ).tuples()
    cards = []
    for record, name, masked_id in rows:
        starts = f"起 {record.valid_from.astimezone(zone):%Y-%m-%d %H:%M}"
        ends = f"止 {record.valid_until.astimezone(zone):%Y-%m-%d %H:%M}"
        if record.kind == PassKind.WHITELIST:
            title = sheets.WHITELIST_TITLE
            lines = (f"{name} {masked_id}", enterprise.name, starts, ends, record.route)
        else:
            title = sheets.FREIGHT_TITLE
            lines = (
                f"{record.plate} {record.driver_name}",
                enterprise.name,
                starts,
                ends,
                record.route,
            )
        token = passes.sign(keys=keys, serial=record.serial, kind=record.kind)
        cards.append(sheets.PassCard(token=token, title=title, lines=(*lines, record.serial)))
    return sheets.render(
        cards=cards, heading=f"{enterprise.name} {enterprise.credit_code}", printed_at=clock.now()
    )
