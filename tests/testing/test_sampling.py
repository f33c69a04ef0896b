from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.registry.models import Person
from fangkong.testing import actions, service
from fangkong.testing.codes import issue_household_code, issue_person_code
from fangkong.testing.enums import TubeStatus
from fangkong.testing.errors import TestingError, TestingErrorCode
from fangkong.testing.models import TubeMember
from tests.authz import snapshot
from tests.personas import JIANNING, Personas

SITE = "/43/4302/430203/430203003/"
NOW = datetime(2022, 11, 10, 7, 0, tzinfo=UTC)


def sampler(personas: Personas) -> Actor:
    return actor_for(personas.user("jianning-sampler", Role.SAMPLER, JIANNING))


def people(session: Session, count: int) -> list[int]:
    made = []
    for n in range(count):
        person = Person(
            area_path=SITE,
            document_type="resident_id",
            id_number_encrypted="x",
            id_number_index=f"sampling-test-{n}",
            id_number_masked="4302**********001X",
            name=f"居民{n}",
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(person)
        made.append(person)
    session.flush()
    return [person.id for person in made]


def refused(call: object, session: Session) -> str:
    before = snapshot(session)
    with pytest.raises(FangkongError) as error:
        call()  # type: ignore[operator]
    assert snapshot(session) == before, "a refused call changed data"
    return str(error.value.code)


def test_it_fills_a_tube_up_to_its_pool_size_and_seals_it(
    session: Session, personas: Personas
) -> None:
    actor = sampler(personas)
    ids = people(session, 4)
    tube = service.open_tube(
        session=session, actor=actor, barcode="ZZ430203000001", area_path=SITE, pool_size=3
    )

    service.add_members(session=session, actor=actor, barcode=tube.barcode, person_ids=ids[:2])
    service.add_members(session=session, actor=actor, barcode=tube.barcode, person_ids=ids[2:3])
    code = refused(
        lambda: service.add_members(
            session=session, actor=actor, barcode=tube.barcode, person_ids=ids[3:]
        ),
        session,
    )
    sealed = service.seal_tube(session=session, actor=actor, barcode=tube.barcode)

    assert code == TestingErrorCode.TUBE_FULL
    assert (sealed.status, sealed.member_count) == (TubeStatus.SEALED.value, 3)
    members = session.scalars(select(TubeMember.person_id).where(TubeMember.tube_id == tube.id))
    assert sorted(members) == ids[:3]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "tube").order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "testing.tube_opened",
        "testing.tube_members_added",
        "testing.tube_members_added",
        "testing.tube_sealed",
    ]


def test_it_refuses_bad_sampling_and_changes_nothing(session: Session, personas: Personas) -> None:
    actor = sampler(personas)
    ids = people(session, 2)
    tube = service.open_tube(
        session=session, actor=actor, barcode="ZZ430203000002", area_path=SITE, pool_size=10
    )
    service.add_members(session=session, actor=actor, barcode=tube.barcode, person_ids=ids[:1])

    def add(barcode: str, person_ids: list[int]) -> object:
        return lambda: service.add_members(
            session=session, actor=actor, barcode=barcode, person_ids=person_ids
        )

    assert refused(add(tube.barcode, [ids[1], ids[0]]), session) == (
        TestingErrorCode.PERSON_ALREADY_IN_TUBE
    )
    assert refused(add(tube.barcode, [ids[1], 999_999]), session) == (
        TestingErrorCode.PERSON_NOT_FOUND
    )
    assert refused(add("ZZ-NO-SUCH-TUBE", ids[1:]), session) == TestingErrorCode.TUBE_NOT_FOUND
    open_again = lambda: service.open_tube(  # noqa: E731
        session=session, actor=actor, barcode=tube.barcode, area_path=SITE, pool_size=10
    )
    assert refused(open_again, session) == TestingErrorCode.TUBE_BARCODE_TAKEN
    bad_barcode = lambda: service.open_tube(  # noqa: E731
        session=session, actor=actor, barcode="ZZ 01", area_path=SITE, pool_size=10
    )
    assert refused(bad_barcode, session) == TestingErrorCode.TUBE_ID_INVALID
    too_big = lambda: service.open_tube(  # noqa: E731
        session=session, actor=actor, barcode="ZZ430203000003", area_path=SITE, pool_size=51
    )
    assert refused(too_big, session) == TestingErrorCode.POOL_SIZE_INVALID
    elsewhere = lambda: service.open_tube(  # noqa: E731
        session=session,
        actor=actor,
        barcode="ZZ430203000004",
        area_path="/43/4302/430202/",
        pool_size=10,
    )
    assert refused(elsewhere, session) == CoreErrorCode.OUTSIDE_JURISDICTION

    service.seal_tube(session=session, actor=actor, barcode=tube.barcode)

    assert refused(add(tube.barcode, ids[1:]), session) == TestingErrorCode.TUBE_NOT_OPEN
    seal_again = lambda: service.seal_tube(  # noqa: E731
        session=session, actor=actor, barcode=tube.barcode
    )
    assert refused(seal_again, session) == TestingErrorCode.TUBE_NOT_OPEN


def test_it_refuses_to_seal_an_empty_tube(session: Session, personas: Personas) -> None:
    actor = sampler(personas)
    tube = service.open_tube(
        session=session, actor=actor, barcode="ZZ430203000005", area_path=SITE, pool_size=10
    )

    code = refused(
        lambda: service.seal_tube(session=session, actor=actor, barcode=tube.barcode), session
    )

    assert code == TestingErrorCode.TUBE_EMPTY


SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
TRUSTED = {1: SIGNING_KEY.public_key()}


def test_it_samples_people_into_a_tube_from_their_registration_codes(
    session: Session, personas: Personas
) -> None:
    actor = sampler(personas)
    alone, parent, child, grandparent = people(session, 4)
    tube = service.open_tube(
        session=session, actor=actor, barcode="ZZ430203000010", area_path=SITE, pool_size=10
    )
    person_code = issue_person_code(
        private_key=SIGNING_KEY, key_id=1, person_id=alone, issued_at=NOW
    )
    household_code = issue_household_code(
        private_key=SIGNING_KEY,
        key_id=1,
        presenter_id=parent,
        household_id=77,
        member_ids=[parent, child, grandparent],
        issued_at=NOW,
    )

    with use_clock(ManualClock(NOW + timedelta(days=3))):
        members = actions.sample_by_codes(
            session=session,
            actor=actor,
            barcode=tube.barcode,
            codes=[person_code, household_code],
            public_keys=TRUSTED,
            household_members={77: [parent, child]},
        )

    assert [member.person_id for member in members] == [alone, parent, child]


def test_it_refuses_a_scan_with_an_expired_code_and_binds_nobody(
    session: Session, personas: Personas
) -> None:
    actor = sampler(personas)
    first, second = people(session, 2)
    tube = service.open_tube(
        session=session, actor=actor, barcode="ZZ430203000011", area_path=SITE, pool_size=10
    )
    fresh = issue_person_code(private_key=SIGNING_KEY, key_id=1, person_id=first, issued_at=NOW)
    stale = issue_person_code(
        private_key=SIGNING_KEY, key_id=1, person_id=second, issued_at=NOW - timedelta(days=31)
    )

    before = snapshot(session)

    with use_clock(ManualClock(NOW)), pytest.raises(TestingError) as error:
        actions.sample_by_codes(
            session=session,
            actor=actor,
            barcode=tube.barcode,
            codes=[fresh, stale],
            public_keys=TRUSTED,
        )

    assert error.value.code is TestingErrorCode.CODE_EXPIRED
    assert error.value.message.startswith("code 2: ")
    assert snapshot(session) == before


def test_it_opens_tubes_of_a_round_only_within_its_area_and_cap(
    session: Session, personas: Personas
) -> None:
    organiser = actor_for(personas.lusong_admin())
    actor = sampler(personas)
    campaign = service.create_campaign(
        session=session,
        actor=organiser,
        name="芦淞区第3轮",
        area_code="430203",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=24),
        max_pool_size=10,
        rule_ref="cn-9/4.2/controlled-zone",
    )

    tube = service.open_tube(
        session=session,
        actor=actor,
        barcode="ZZ430203000020",
        area_path=SITE,
        pool_size=10,
        campaign_id=campaign.id,
    )

    assert (tube.campaign_id, tube.pool_size) == (campaign.id, 10)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "testing.campaign_created")
    ).one()
    assert (event.subject_id, event.rule_ref) == (str(campaign.id), "cn-9/4.2/controlled-zone")

    def open_with(pool_size: int, campaign_id: int) -> object:
        return lambda: service.open_tube(
            session=session,
            actor=actor,
            barcode="ZZ430203000021",
            area_path=SITE,
            pool_size=pool_size,
            campaign_id=campaign_id,
        )

    assert refused(open_with(20, campaign.id), session) == (
        TestingErrorCode.POOL_SIZE_ABOVE_CAMPAIGN_CAP
    )
    assert refused(open_with(10, campaign.id + 1), session) == TestingErrorCode.CAMPAIGN_NOT_FOUND

    service.close_campaign(session=session, actor=organiser, campaign_id=campaign.id)

    assert refused(open_with(10, campaign.id), session) == TestingErrorCode.CAMPAIGN_NOT_OPEN
    close_again = lambda: service.close_campaign(  # noqa: E731
        session=session, actor=organiser, campaign_id=campaign.id
    )
    assert refused(close_again, session) == TestingErrorCode.CAMPAIGN_NOT_OPEN


def test_it_refuses_a_round_with_a_bad_window_or_outside_jurisdiction(
    session: Session, personas: Personas
) -> None:
    organiser = actor_for(personas.lusong_admin())

    def create(area_code: str, hours: int) -> object:
        return lambda: service.create_campaign(
            session=session,
            actor=organiser,
            name="round",
            area_code=area_code,
            starts_at=NOW,
            ends_at=NOW + timedelta(hours=hours),
            max_pool_size=10,
            rule_ref=None,
        )

    assert refused(create("430203", 0), session) == TestingErrorCode.CAMPAIGN_WINDOW_INVALID
    assert refused(create("430202", 24), session) == CoreErrorCode.OUTSIDE_JURISDICTION
