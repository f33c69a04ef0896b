"""Overrides: permission, jurisdiction, reason and expiry, the second approver, the engine
respecting the expiry, audit events, and the unexplained-code report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.audit import AuditEvent
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.healthcode import overrides, service
from fangkong.healthcode.enums import OverrideStatus
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.overrides import OverrideRequest
from fangkong.healthcode.service import Unexplained, UnexplainedCode
from fangkong.registry.models import Person
from tests import places
from tests.healthcode import world
from tests.personas import HETANG, LUSONG, Personas

NOW = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def officer(personas: Personas, name: str, area: str = LUSONG) -> Actor:
    return actor_for(personas.user(name, Role.DISTRICT_OFFICER, area))


def isolated_person(session: Session, name: str = "隔离者") -> Person:
    """Someone in centralised isolation: red under the Zhuzhou pack in force on NOW."""
    home = places.household(
        session, places.building(session, places.compound(session, f"{name}小区"), "1栋")
    )
    person = places.person(session, name, at=home)
    world.order(session, person, kind="centralised", since=NOW - DAY, status="active")
    service.recompute_affected(session=session, person_ids=[person.id], now=NOW)
    return person


def code_of(session: Session, person: Person) -> tuple[str, str]:
    session.expire_all()
    code = session.get(HealthCode, person.id)
    assert code is not None
    return code.colour, code.rule_id


def actions_for(session: Session, person: Person) -> list[str]:
    stmt = (
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == "person", AuditEvent.subject_id == str(person.id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))


def test_red_to_green_waits_for_a_second_approver(session: Session, personas: Personas) -> None:
    person = isolated_person(session)
    asker, second = officer(personas, "officer-a"), officer(personas, "officer-b")
    assert code_of(session, person) == ("red", "hc.isolation")
    request = OverrideRequest(
        person.id, "green", "wrongly placed: order issued to a namesake", NOW + 2 * DAY
    )

    override = overrides.request_override(session=session, actor=asker, request=request, now=NOW)

    assert override.status == OverrideStatus.PENDING
    assert code_of(session, person)[0] == "red"
    with pytest.raises(FangkongError) as refused:
        overrides.approve_override(session=session, actor=asker, override_id=override.id, now=NOW)
    assert refused.value.code is Code.OVERRIDE_SAME_APPROVER
    assert override.status == OverrideStatus.PENDING

    overrides.approve_override(
        session=session, actor=second, override_id=override.id, now=NOW, note="checked"
    )

    assert override.status == OverrideStatus.ACTIVE
    assert override.approved_by_user_id == second.user_id
    assert code_of(session, person) == ("green", f"override.{override.id}")
    assert actions_for(session, person) == [
        "healthcode.changed",
        "healthcode.override.requested",
        "healthcode.override.approved",
        "healthcode.changed",
    ]
    with pytest.raises(FangkongError) as again:
        overrides.approve_override(session=session, actor=second, override_id=override.id, now=NOW)
    assert again.value.code is Code.OVERRIDE_NOT_PENDING


def test_the_engine_drops_an_override_at_its_expiry(session: Session, personas: Personas) -> None:
    person = isolated_person(session)
    request = OverrideRequest(person.id, "yellow", "recheck under way", NOW + DAY)
    override = overrides.request_override(
        session=session, actor=officer(personas, "officer-a"), request=request, now=NOW
    )
    assert override.status == OverrideStatus.ACTIVE  # red → yellow needs no second approver
    code = session.get(HealthCode, person.id)
    assert code is not None and code.valid_until == NOW + DAY

    assert service.due_for_recompute(session=session, now=NOW + DAY, limit=10) == [person.id]
    service.recompute_affected(session=session, person_ids=[person.id], now=NOW + DAY)

    assert code_of(session, person)[0] == "red"


@pytest.mark.parametrize(
    ("reason", "expires_in", "colour", "code"),
    [
        ("  ", DAY, "green", Code.OVERRIDE_REASON_REQUIRED),
        ("ok", None, "green", Code.OVERRIDE_EXPIRY_REQUIRED),
        ("ok", -DAY, "green", Code.OVERRIDE_EXPIRY_IN_PAST),
        ("ok", 31 * DAY, "green", Code.OVERRIDE_EXPIRY_TOO_FAR),
        ("ok", DAY, "purple", Code.OVERRIDE_COLOUR_UNKNOWN),
    ],
)
def test_it_refuses_bad_requests_and_changes_nothing(
    session: Session,
    personas: Personas,
    reason: str,
    expires_in: timedelta | None,
    colour: str,
    code: Code,
) -> None:
    person = isolated_person(session)
    expires_at = NOW + expires_in if expires_in is not None else None
    before = actions_for(session, person)

    with pytest.raises(FangkongError) as refused:
        overrides.request_override(
            session=session,
            actor=officer(personas, "officer-a"),
            request=OverrideRequest(person.id, colour, reason, expires_at),
            now=NOW,
        )

    assert refused.value.code is code
    assert overrides.list_overrides(session=session, actor=officer(personas, "officer-a")) == []
    assert actions_for(session, person) == before


def test_it_refuses_outsiders_and_roles_without_the_permission(
    session: Session, personas: Personas
) -> None:
    person = isolated_person(session)
    request = OverrideRequest(person.id, "green", "reason", NOW + DAY)
    grid = actor_for(personas.grid_worker())

    with pytest.raises(FangkongError) as outside:
        overrides.request_override(
            session=session, actor=officer(personas, "hetang", HETANG), request=request, now=NOW
        )
    with pytest.raises(FangkongError) as no_permission:
        overrides.request_override(session=session, actor=grid, request=request, now=NOW)

    assert outside.value.code is CoreErrorCode.OUTSIDE_JURISDICTION
    assert no_permission.value.code is CoreErrorCode.PERMISSION_DENIED


def test_the_report_lists_codes_no_rule_or_override_explains(
    session: Session, personas: Personas
) -> None:
    tampered, expired = isolated_person(session, "甲"), isolated_person(session, "乙")
    actor = officer(personas, "officer-a")
    override = overrides.request_override(
        session=session,
        actor=actor,
        request=OverrideRequest(expired.id, "yellow", "recheck", NOW + DAY),
        now=NOW,
    )
    session.execute(
        update(HealthCode).where(HealthCode.person_id == tampered.id).values(colour="green")
    )
    session.expire_all()

    report = service.unexplained_codes(session=session, actor=actor, now=NOW + 2 * DAY)

    decided = {row.person_id: row.decided_at for row in report}
    assert report == [
        UnexplainedCode(
            tampered.id,
            "green",
            "hc.isolation",
            "zhuzhou-2022-11@1",
            decided[tampered.id],
            Unexplained.COLOUR_NOT_RULES,
        ),
        UnexplainedCode(
            expired.id,
            "yellow",
            f"override.{override.id}",
            "zhuzhou-2022-11@1",
            decided[expired.id],
            Unexplained.OVERRIDE_NOT_IN_FORCE,
        ),
    ]
    assert service.unexplained_codes(session=session, actor=actor, now=NOW) == report[:1]
