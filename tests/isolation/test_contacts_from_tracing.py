"""Tracing's identified contacts become isolation orders and are marked handed over, once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.clock import ManualClock, use_clock
from fangkong.healthcode.models import HealthCode
from fangkong.isolation import actions, service
from fangkong.isolation.models import IsolationOrder
from fangkong.tracing.models import Contact
from tests.personas import LUSONG, Personas
from tests.tracing.test_contact_finding import confirmed
from tests.tracing.world import NOW


def test_identified_contacts_become_orders_and_are_handed_over_once(
    session: Session, personas: Personas
) -> None:
    world, case, _ = confirmed(session, personas)
    officer = actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    section = service.section_for(pack_id="cn-9", version=None, now=NOW)
    with use_clock(ManualClock(NOW)):
        first = actions.isolate_due_contacts(session=session, actor=officer, section=section)
        second = actions.isolate_due_contacts(session=session, actor=officer, section=section)

    lusong_contacts = {*[p.id for p in world.housemates], world.shopper.id, world.shopper_spouse.id}
    orders = dict(
        session.execute(
            select(IsolationOrder.person_id, IsolationOrder.category).where(
                IsolationOrder.id.in_(first.created)
            )
        )
        .tuples()
        .all()
    )
    assert orders == {
        world.housemates[0].id: "close_contact",
        world.housemates[1].id: "close_contact",
        world.shopper.id: "close_contact",
        world.shopper_spouse.id: "secondary_contact",
    }
    assert (first.already_ordered, first.refused) == ([], [])
    handed = session.execute(
        select(Contact.person_id, Contact.status, Contact.isolation_ref).where(
            Contact.case_id == case.id, Contact.person_id.in_(lusong_contacts)
        )
    ).all()
    order_of = dict(
        session.execute(
            select(IsolationOrder.person_id, IsolationOrder.id).where(
                IsolationOrder.id.in_(first.created)
            )
        )
        .tuples()
        .all()
    )
    assert sorted(handed) == sorted(
        (person, "handed_over", f"order:{order_of[person]}") for person in lusong_contacts
    )
    # the colleague lives in 荷塘区: still waiting for that district's isolation officer
    colleague = session.scalars(
        select(Contact).where(Contact.person_id == world.colleague.id)
    ).one()
    assert colleague.status == "identified"
    assert (second.created, second.already_ordered, second.refused) == ([], [], [])


def test_the_officer_takes_due_contacts_over_http_and_their_codes_follow(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world, _, _ = confirmed(session, personas)
    officer = personas.bearer(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    grid_worker = personas.bearer(personas.grid_worker())
    url = "/api/v1/isolation/orders/from-due-contacts?pack_id=cn-9"

    with use_clock(ManualClock(NOW)):
        refused = client.post(url, headers=grid_worker)  # a grid worker may not order isolation
        answer = client.post(url, headers=officer)

    assert refused.status_code == 403
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (len(body["created"]), body["already_ordered"], body["refused"]) == (4, [], [])
    wife = session.get(HealthCode, world.housemates[0].id)
    assert wife is not None and wife.colour == "red"
