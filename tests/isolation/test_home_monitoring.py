"""Daily home monitoring: check-ins by the person or their grid worker, fever and symptom
flags, missed check-ins per grid; and orders created from tracing's contacts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import audit, clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.isolation import actions, service
from fangkong.isolation.enums import Category, ContactKind, Symptom
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import IsolationOrder
from fangkong.isolation.schemas import ContactForIsolation, RefusedContact
from fangkong.registry.models import Person
from tests import places
from tests.authz import snapshot
from tests.personas import LUSONG, Personas

EXPOSED = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 in Zhuzhou
ORDERED = EXPOSED + timedelta(hours=6)
D = timedelta(days=1)


def manager(personas: Personas) -> Actor:
    return actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))


def resident(session: Session, name: str) -> Person:
    compound = places.compound(session, f"{name}小区")
    home = places.household(session, places.building(session, compound, "1栋"))
    return places.person(session, name, at=home)


def login_of(personas: Personas, person: Person) -> Actor:
    return actor_for(
        personas.user(
            f"res-{person.id}",
            Role.RESIDENT,
            person_id=person.id,
            household_id=person.household_id or 0,
        )
    )


def home_order(session: Session, actor: Actor, person: Person) -> IsolationOrder:
    """cn-9 secondary contact: 7 days of home isolation."""
    return service.create_order(
        session=session,
        actor=actor,
        person_id=person.id,
        category=Category.SECONDARY_CONTACT,
        last_exposure_at=EXPOSED,
        section=service.section_for(pack_id="cn-9", version=None, now=ORDERED),
    )


@pytest.mark.parametrize(
    ("_case", "temperature", "symptoms", "flagged"),
    [
        ("normal", 36.6, [], False),
        ("fever at the threshold", 37.3, [], True),
        ("a symptom without fever", 36.8, [Symptom.COUGH], True),
    ],
)
def test_it_flags_fever_and_symptoms(
    _case: str,
    temperature: float,
    symptoms: list[Symptom],
    flagged: bool,
    session: Session,
    personas: Personas,
) -> None:
    with clock.use_clock(clock.ManualClock(ORDERED)):
        person = resident(session, "张三")
        order = home_order(session, manager(personas), person)
        checkin = service.record_checkin(
            session=session,
            actor=login_of(personas, person),
            order_id=order.id,
            temperature=temperature,
            symptoms=symptoms,
        )
        flagged_today = service.list_checkins(
            session=session, actor=manager(personas), day=date(2022, 7, 1), flagged_only=True
        )

    assert (checkin.day, checkin.flagged, checkin.by_role) == (
        date(2022, 7, 1),
        flagged,
        "resident",
    )
    assert [c.id for c in flagged_today] == ([checkin.id] if flagged else [])
    events = audit.events_for(session=session, subject_type="isolation_order", subject_id=order.id)
    assert events[-1].action == "isolation.checkin.recorded"


def test_it_lists_missed_check_ins_per_day(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    grid_worker = actor_for(personas.grid_worker())
    manual = clock.ManualClock(ORDERED)
    with clock.use_clock(manual):
        zhang, li = resident(session, "张三"), resident(session, "李四")
        zhang_order, li_order = home_order(session, actor, zhang), home_order(session, actor, li)
        service.record_checkin(
            session=session,
            actor=grid_worker,
            order_id=zhang_order.id,
            temperature=36.5,
            symptoms=[],
        )
        first_day = service.list_missed_checkins(session=session, actor=actor, day=date(2022, 7, 1))
        manual.advance(D)
        second_day = service.list_missed_checkins(
            session=session, actor=grid_worker, day=date(2022, 7, 2)
        )
        before_exposure = service.list_missed_checkins(
            session=session, actor=actor, day=date(2022, 6, 30)
        )

    assert [(m.order.id, m.name) for m in first_day] == [(li_order.id, "李四")]
    assert [m.order.id for m in second_day] == [zhang_order.id, li_order.id]
    assert before_exposure == []


def test_it_refuses_a_second_check_in_the_same_day(session: Session, personas: Personas) -> None:
    with clock.use_clock(clock.ManualClock(ORDERED)):
        person = resident(session, "张三")
        order = home_order(session, manager(personas), person)
        actor = login_of(personas, person)
        service.record_checkin(
            session=session, actor=actor, order_id=order.id, temperature=36.5, symptoms=[]
        )
        before = snapshot(session)
        with pytest.raises(FangkongError) as refused:
            service.record_checkin(
                session=session, actor=actor, order_id=order.id, temperature=36.6, symptoms=[]
            )

    assert refused.value.code == IsolationErrorCode.CHECKIN_ALREADY_DONE
    assert snapshot(session) == before


def test_it_refuses_check_ins_for_someone_else_or_in_a_facility(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        zhang, li = resident(session, "张三"), resident(session, "李四")
        zhang_order = home_order(session, actor, zhang)
        centralised = service.create_order(
            session=session,
            actor=actor,
            person_id=li.id,
            category=Category.CLOSE_CONTACT,
            last_exposure_at=EXPOSED,
            section=service.section_for(pack_id="cn-9", version=None, now=ORDERED),
        )
        volunteer = actor_for(personas.user("volunteer", Role.VOLUNTEER, LUSONG))
        li_login = login_of(personas, li)
        before = snapshot(session)
        refusals = []
        for who, order_id in (
            (li_login, zhang_order.id),
            (actor, centralised.id),
            (volunteer, zhang_order.id),
        ):
            with pytest.raises(FangkongError) as refused:
                service.record_checkin(
                    session=session, actor=who, order_id=order_id, temperature=36.5, symptoms=[]
                )
            refusals.append(refused.value.code)

        with pytest.raises(FangkongError) as listing:
            service.list_home_orders_of(session=session, actor=volunteer)
        mine = service.list_home_orders_of(session=session, actor=li_login)

    assert refusals == [
        IsolationErrorCode.ORDER_NOT_FOUND,
        IsolationErrorCode.NOT_AT_HOME,
        CoreErrorCode.PERMISSION_DENIED,
    ]
    assert listing.value.code == CoreErrorCode.PERMISSION_DENIED
    assert mine == []  # 李四's order is centralised, 张三's is not theirs
    assert snapshot(session) == before


def test_it_turns_contacts_into_orders_and_reports_the_bad_ones(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        close, secondary, ordered = (resident(session, n) for n in ("张三", "李四", "王五"))
        outside = places.person(session, "赵六", area_path="/43/4302/430202/")
        home_order(session, actor, ordered)
        result = actions.create_orders_from_contacts(
            session=session,
            actor=actor,
            contacts=[
                ContactForIsolation(
                    person_id=p.id,
                    kind=kind,
                    last_exposure=EXPOSED,
                    due_at=ORDERED + timedelta(hours=12),
                    source_ref=f"contact:{n}",
                )
                for n, (p, kind) in enumerate(
                    [
                        (close, ContactKind.CLOSE),
                        (secondary, ContactKind.SECONDARY),
                        (ordered, ContactKind.CLOSE),
                        (outside, ContactKind.CLOSE),
                    ]
                )
            ],
            section=service.section_for(pack_id="cn-20", version=None, now=ORDERED),
        )
        created = [session.get(IsolationOrder, i) for i in result.created]

    assert [(o.person_id, o.kind, o.rule_id, o.note) for o in created if o] == [
        (close.id, "centralised", "iso.close_contact", "source: contact:0")
    ]
    assert result.already_ordered == [ordered.id]
    assert [(r.person_id, r.code) for r in result.refused] == [
        (secondary.id, IsolationErrorCode.CATEGORY_NOT_IN_PACK),
        (outside.id, CoreErrorCode.OUTSIDE_JURISDICTION),
    ]
    assert all(isinstance(r, RefusedContact) for r in result.refused)
    events = audit.events_for(
        session=session, subject_type="isolation_order", subject_id=result.created[0]
    )
    assert (events[0].reason, events[0].rule_ref) == (
        "source: contact:0",
        "cn-20@1#iso.close_contact",
    )


def test_it_takes_a_check_in_over_http_from_the_resident(
    client: TestClient, session: Session, personas: Personas
) -> None:
    with clock.use_clock(clock.ManualClock(ORDERED)):
        person = resident(session, "张三")
        order = home_order(session, manager(personas), person)
        user = personas.user(
            "res-http", Role.RESIDENT, person_id=person.id, household_id=person.household_id or 0
        )
        response = client.post(
            f"/api/v1/isolation/orders/{order.id}/checkins",
            headers=personas.bearer(user),
            json={"temperature": 38.1, "symptoms": ["fever", "cough"]},
        )

    assert response.status_code == 201, response.text
    assert (response.json()["flagged"], response.json()["symptoms"]) == (True, ["cough", "fever"])
