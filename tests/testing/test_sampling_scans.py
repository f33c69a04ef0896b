"""The sampling scan API: per-scan checks, flags, the group-commit writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.config import Settings
from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.testing import sampling, scan_writer, service
from fangkong.testing.codes import issue_household_code, issue_person_code
from fangkong.testing.enums import ScanFlag, TubeStatus
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.models import PersonTestStatus, SamplingScan, Tube, TubeMember
from fangkong.testing.views import get_scan_writer
from tests.city import City
from tests.personas import JIANNING, Personas

NOW = datetime(2022, 11, 10, 7, 0, tzinfo=UTC)
KEYS = sampling.registration_keys(Settings().code_signing_key)


def sampler(personas: Personas) -> Actor:
    return actor_for(personas.user("jianning-sampler", Role.SAMPLER, JIANNING))


def code_for(person_id: int, key: Ed25519PrivateKey | None = None) -> str:
    return issue_person_code(
        private_key=key or KEYS.signing_key,
        key_id=KEYS.signing_key_id,
        person_id=person_id,
        issued_at=NOW - timedelta(days=1),
    )


class Site:
    """A round over grid 1 of 建宁 with one person outside it (grid 2)."""

    def __init__(self, session: Session, actor: Actor, *, pool_size: int = 3) -> None:
        self.session = session
        self.actor = actor
        self.city = City(session)
        grid = self.city.grid(1)
        self.grid = grid
        self.outside_grid = self.city.grid(2)
        household = self.city.household()
        self.people = [self.city.person(household, name=f"张三{n}") for n in range(5)]
        self.outsider = self.city.person(area_path=self.outside_grid.path, name="李四")
        with use_clock(ManualClock(NOW)):
            self.round = service.create_campaign(
                session=session,
                actor=actor_admin(session),
                name="第1轮",
                area_code=grid.code,
                starts_at=NOW,
                ends_at=NOW + timedelta(days=1),
                max_pool_size=pool_size,
                rule_ref="cn-9/4.2",
            )
        session.flush()

    def tube(self, barcode: str) -> Tube:
        with use_clock(ManualClock(NOW)):
            return sampling.open_round_tube(
                session=self.session,
                actor=self.actor,
                barcode=barcode,
                campaign_id=self.round.id,
                site_code=self.grid.code,
            )

    def scan(self, barcode: str, person_id: int, **extra: object) -> sampling.ScanInput:
        return sampling.prepare_scan(
            actor=self.actor,
            tube_barcode=barcode,
            code=code_for(person_id),
            id_number=None,
            public_keys=KEYS.public_keys,
            now=NOW,
            **extra,  # type: ignore[arg-type]
        )


def actor_admin(session: Session) -> Actor:
    return actor_for(Personas(session).admin())


def run(session: Session, scans: list[sampling.ScanInput]) -> list[object]:
    with use_clock(ManualClock(NOW)):
        return list(sampling.process_batch(session=session, scans=scans))


def test_it_binds_scans_in_one_batch_and_seals_the_full_tube(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=3)
    site.tube("ZZ4302000001")
    ids = [p.id for p in site.people]

    outcomes = run(session, [site.scan("ZZ4302000001", person) for person in ids[:3]])

    assert [o.member_count for o in outcomes] == [1, 2, 3]  # type: ignore[attr-defined]
    assert [o.tube_status for o in outcomes] == ["open", "open", "sealed"]  # type: ignore[attr-defined]
    assert outcomes[0].people[0].name_masked == "张*0"  # type: ignore[attr-defined]
    tube = session.scalars(select(Tube).where(Tube.barcode == "ZZ4302000001")).one()
    session.refresh(tube)
    assert (tube.status, tube.member_count, tube.sealed_at) == (TubeStatus.SEALED.value, 3, NOW)
    members = session.scalars(select(TubeMember.person_id).where(TubeMember.tube_id == tube.id))
    assert sorted(members) == sorted(ids[:3])
    statuses = session.execute(
        select(PersonTestStatus.person_id, PersonTestStatus.status).where(
            PersonTestStatus.campaign_id == tube.campaign_id
        )
    ).all()
    assert sorted(statuses) == sorted((person, "sampled") for person in ids[:3])
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "testing.scans_stored")
    ).one()
    assert event.after == {
        "tubes": {"ZZ4302000001": ids[:3]},
        "sealed": ["ZZ4302000001"],
        "scan_ids": [o.scan_id for o in outcomes],  # type: ignore[attr-defined]
    }
    assert event.actor_label == "jianning-sampler"


def test_one_bad_scan_never_fails_the_others_in_its_batch(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=2)
    site.tube("ZZ4302000002")
    ids = [p.id for p in site.people]

    outcomes = run(
        session,
        [
            site.scan("ZZ4302000002", ids[0]),
            site.scan("ZZ9999999999", ids[1]),  # never opened
            site.scan("ZZ4302000002", ids[0]),  # same person, same tube
            site.scan("ZZ4302000002", 99_999_999),  # a valid code for nobody we know
            site.scan("ZZ4302000002", ids[1]),  # fills the tube
            site.scan("ZZ4302000002", ids[2]),  # the tube is sealed now
        ],
    )

    codes = [o.code if isinstance(o, FangkongError) else "ok" for o in outcomes]  # type: ignore[attr-defined]
    assert codes == [
        "ok",
        TestingErrorCode.TUBE_NOT_FOUND,
        TestingErrorCode.PERSON_ALREADY_IN_TUBE,
        TestingErrorCode.PERSON_NOT_FOUND,
        "ok",
        TestingErrorCode.TUBE_NOT_OPEN,
    ]
    assert session.scalar(select(func.count()).select_from(SamplingScan)) == 2


def test_a_person_twice_in_a_round_or_from_outside_it_is_accepted_and_flagged(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=3)
    site.tube("ZZ4302000003")
    site.tube("ZZ4302000004")
    first = site.people[0].id

    outcomes = run(
        session,
        [
            site.scan("ZZ4302000003", first),
            site.scan("ZZ4302000004", first),
            site.scan("ZZ4302000004", site.outsider.id),
        ],
    )

    assert [o.flags for o in outcomes] == [  # type: ignore[attr-defined]
        (),
        (ScanFlag.REPEAT_IN_ROUND.value,),
        (ScanFlag.OUTSIDE_ROUND_SCOPE.value,),
    ]
    again = run(session, [site.scan("ZZ4302000003", site.people[1].id)])
    later = run(session, [site.scan("ZZ4302000003", site.outsider.id)])
    assert again[0].flags == ()  # type: ignore[attr-defined]
    assert later[0].flags == (  # type: ignore[attr-defined]
        ScanFlag.REPEAT_IN_ROUND.value,
        ScanFlag.OUTSIDE_ROUND_SCOPE.value,
    )


def test_it_finds_a_person_by_a_typed_id_number_and_refuses_an_unknown_one(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas))
    site.tube("ZZ4302000005")
    person = site.people[0]
    typed = [
        sampling.prepare_scan(
            actor=site.actor,
            tube_barcode="ZZ4302000005",
            code=None,
            id_number=number,
            public_keys=KEYS.public_keys,
            now=NOW,
        )
        for number in (site.city.id_numbers[person.id].lower(), "430203198001010000")
    ]

    outcomes = run(session, typed)

    assert outcomes[0].people[0].person_id == person.id  # type: ignore[attr-defined]
    assert outcomes[1].code == TestingErrorCode.PERSON_NOT_FOUND  # type: ignore[attr-defined]
    method = session.scalars(select(SamplingScan.method)).one()
    assert method == "id_number"


def test_a_forged_or_missing_code_is_refused_before_the_database(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas))
    forged = code_for(site.people[0].id, key=Ed25519PrivateKey.generate())

    def prepare(code: str | None, id_number: str | None) -> str:
        with pytest.raises(FangkongError) as error:
            sampling.prepare_scan(
                actor=site.actor,
                tube_barcode="ZZ4302000006",
                code=code,
                id_number=id_number,
                public_keys=KEYS.public_keys,
                now=NOW,
            )
        return str(error.value.code)

    assert prepare(forged, None) == TestingErrorCode.CODE_FORGED
    assert prepare(None, None) == TestingErrorCode.SCAN_INPUT_INVALID
    assert prepare(forged, "430203198001010000") == TestingErrorCode.SCAN_INPUT_INVALID


def test_a_household_code_brings_its_members_and_must_fit_whole(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=3)
    site.tube("ZZ4302000007")
    ids = [p.id for p in site.people]
    household_code = issue_household_code(
        private_key=KEYS.signing_key,
        key_id=KEYS.signing_key_id,
        presenter_id=ids[0],
        household_id=site.people[0].household_id or 0,
        member_ids=ids[1:4],
        issued_at=NOW,
    )

    def scan() -> sampling.ScanInput:
        return sampling.prepare_scan(
            actor=site.actor,
            tube_barcode="ZZ4302000007",
            code=household_code,
            id_number=None,
            public_keys=KEYS.public_keys,
            now=NOW,
        )

    first = run(session, [site.scan("ZZ4302000007", ids[0]), scan()])

    assert first[0].member_count == 1  # type: ignore[attr-defined]
    assert first[1].code == TestingErrorCode.TUBE_FULL  # type: ignore[attr-defined]
    site.tube("ZZ4302000008")
    whole = run(
        session,
        [
            sampling.prepare_scan(
                actor=site.actor,
                tube_barcode="ZZ4302000008",
                code=household_code,
                id_number=None,
                public_keys=KEYS.public_keys,
                now=NOW,
            )
        ],
    )
    assert [p.person_id for p in whole[0].people] == ids[1:4]  # type: ignore[attr-defined]
    assert whole[0].tube_status == "sealed"  # type: ignore[attr-defined]


def test_a_resent_scan_is_answered_with_what_was_stored(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas))
    site.tube("ZZ4302000009")
    person = site.people[0].id

    first = run(session, [site.scan("ZZ4302000009", person, client_scan_id="phone-1/17")])
    again = run(
        session,
        [
            site.scan("ZZ4302000009", person, client_scan_id="phone-1/17"),
            site.scan("ZZ4302000009", site.people[1].id, client_scan_id="phone-1/18"),
            site.scan("ZZ4302000009", site.people[1].id, client_scan_id="phone-1/18"),
        ],
    )

    assert again[0].scan_id == first[0].scan_id  # type: ignore[attr-defined]
    assert again[0].replayed is True  # type: ignore[attr-defined]
    assert again[2].scan_id == again[1].scan_id  # type: ignore[attr-defined]
    assert (again[1].replayed, again[2].replayed) == (False, True)  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(TubeMember)) == 2


def test_a_tube_outside_the_samplers_jurisdiction_is_refused(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas))
    site.tube("ZZ4302000010")
    stranger = actor_for(personas.user("hetang-sampler", Role.SAMPLER, "430202"))
    scan = sampling.prepare_scan(
        actor=stranger,
        tube_barcode="ZZ4302000010",
        code=code_for(site.people[0].id),
        id_number=None,
        public_keys=KEYS.public_keys,
        now=NOW,
    )

    outcome = run(session, [scan])[0]

    assert outcome.code == "permission.outside_jurisdiction"  # type: ignore[attr-defined]


def test_the_writer_commits_concurrent_scans_together(session: Session, personas: Personas) -> None:
    site = Site(session, sampler(personas), pool_size=5)
    site.tube("ZZ4302000011")
    connection = session.connection()
    writer = scan_writer.ScanWriter(
        lambda: Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
        window=0.05,
    )
    scans = [site.scan("ZZ4302000011", p.id) for p in site.people[:4]]
    scans.append(site.scan("ZZ4302000011", site.people[0].id))  # a duplicate: refused alone

    with use_clock(ManualClock(NOW)):
        futures = [writer.submit(scan) for scan in scans]
        results = [f.exception(timeout=10) or f.result() for f in futures]
    writer.close()

    assert [getattr(r, "member_count", None) for r in results[:4]] == [1, 2, 3, 4]
    assert results[4].code == TestingErrorCode.PERSON_ALREADY_IN_TUBE  # type: ignore[union-attr]
    assert (writer.batches, writer.scans) == (1, 5)


def test_the_scan_api_answers_with_the_acknowledgement_or_the_refusal(
    session: Session, personas: Personas, client: TestClient, settings: Settings
) -> None:
    actor = sampler(personas)
    site = Site(session, actor, pool_size=2)
    headers = personas.bearer(personas.user("jianning-sampler", Role.SAMPLER, JIANNING))
    connection = session.connection()
    writer = scan_writer.ScanWriter(
        lambda: Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
        group_commit=False,
    )
    client.app.dependency_overrides[get_scan_writer] = lambda: writer  # type: ignore[attr-defined]

    opened = client.post(
        "/api/v1/sampling/tubes",
        json={"barcode": "ZZ4302000012", "campaign_id": site.round.id, "site": site.grid.code},
        headers=headers,
    )
    with use_clock(ManualClock(NOW)):
        accepted = client.post(
            "/api/v1/sampling/scans",
            json={"tube_barcode": "ZZ4302000012", "code": code_for(site.people[0].id)},
            headers=headers,
        )
        forged = client.post(
            "/api/v1/sampling/scans",
            json={
                "tube_barcode": "ZZ4302000012",
                "code": code_for(site.people[1].id, key=Ed25519PrivateKey.generate()),
            },
            headers=headers,
        )
    closed = client.post("/api/v1/sampling/tubes/ZZ4302000012/close", headers=headers)

    assert opened.status_code == 201
    assert (opened.json()["pool_size"], opened.json()["status"]) == (2, "open")
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["member_count"], body["pool_size"], body["flags"]) == (1, 2, [])
    assert body["people"] == [{"person_id": site.people[0].id, "name_masked": "张*0"}]
    assert (forged.status_code, forged.json()["code"]) == (400, TestingErrorCode.CODE_FORGED)
    assert (closed.status_code, closed.json()["status"]) == (200, "sealed")


def test_names_are_masked_for_the_sampler() -> None:
    assert [sampling.mask_name(n) for n in ("张", "张三", "欧阳娜娜", "Li Lei")] == [
        "张",
        "张*",
        "欧**娜",
        "L****i",
    ]


def test_a_database_failure_answers_scan_not_stored_and_the_writer_carries_on(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=5)
    site.tube("ZZ4302000013")
    connection = session.connection()
    broken = [True]

    def factory() -> Session:
        if broken[0]:
            raise OperationalError("INSERT", {}, Exception("the disk is full"))
        return Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    writer = scan_writer.ScanWriter(factory, window=0.0)
    with use_clock(ManualClock(NOW)):
        failed = writer.submit(site.scan("ZZ4302000013", site.people[0].id))
        error = failed.exception(timeout=10)
        broken[0] = False
        abandoned = writer.submit(site.scan("ZZ4302000013", site.people[1].id))
        abandoned.cancel()  # the phone went away; its scan is stored all the same
        stored = writer.submit(site.scan("ZZ4302000013", site.people[2].id)).result(timeout=10)
    writer.close()

    assert isinstance(error, FangkongError)
    assert (error.code, error.status) == (TestingErrorCode.SCAN_NOT_STORED, 503)
    assert stored.member_count == 2  # the abandoned scan went in before it
    members = session.scalars(
        select(TubeMember.person_id).join(Tube).where(Tube.barcode == "ZZ4302000013")
    )
    assert site.people[0].id not in set(members)
