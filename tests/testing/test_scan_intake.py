"""The scan intake (fast lane): a scan is acknowledged once its intake row is committed, a
resend is idempotent, a forged code is refused before anything is stored, and the applier gives
every row exactly one outcome, atomically with its effects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_server
from fangkong.config import Settings, get_settings
from fangkong.db.session import create_db_engine
from fangkong.registry.models import Person
from fangkong.testing import applier
from fangkong.testing.codes import issue_household_code, issue_person_code
from fangkong.testing.loadgen import LoadSite, build_site
from fangkong.testing.models import SamplingIntake, Tube, TubeMember
from fangkong.testing.sampling import registration_keys
from fangkong.web.deps import get_session

INTAKE = "/api/v1/sampling/intake"


@dataclass(frozen=True)
class Site:
    url: str
    load: LoadSite
    outsider_code: str
    household_code: str  # two residents of the round's grid


@pytest.fixture(scope="module")
def site(committed_database_url: str) -> Site:
    load = build_site(committed_database_url, people=60, tubes=12, pool_size=3, migrate_first=False)
    engine = create_db_engine(committed_database_url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        # A resident of the street next to the round's grid: outside the round's scope.
        outsider = Person(
            area_path=session.scalar(text("SELECT path FROM area WHERE code = '430203003'")),
            name="外来人员",
            status="active",
            tags=0,
            created_at=now,
            updated_at=now,
        )
        session.add(outsider)
        session.commit()
        outsider_id = outsider.id
        pair = list(
            session.scalars(
                text("SELECT id FROM person WHERE name IN ('居民50', '居民51') ORDER BY id")
            )
        )
    engine.dispose()
    keys = registration_keys(Settings().code_signing_key)
    code = issue_person_code(
        private_key=keys.signing_key,
        key_id=keys.signing_key_id,
        person_id=outsider_id,
        issued_at=now - timedelta(minutes=5),
    )
    household = issue_household_code(
        private_key=keys.signing_key,
        key_id=keys.signing_key_id,
        presenter_id=pair[0],
        household_id=9001,
        member_ids=pair,
        issued_at=now - timedelta(minutes=5),
    )
    return Site(url=committed_database_url, load=load, outsider_code=code, household_code=household)


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    settings = Settings(database_url=site.url, sampling_applier_in_server=False)
    server = create_server(settings)
    engine = create_db_engine(site.url)

    def request_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    # FastAPI's routes read the process-wide database; here they must read the site's.
    server.app.dependency_overrides[get_session] = request_session
    server.app.dependency_overrides[get_settings] = lambda: settings
    with TestClient(server) as test_client:
        test_client.headers["Authorization"] = f"Bearer {site.load.token}"
        yield test_client
    server.state.scan_intake.writer.close()
    engine.dispose()


@pytest.fixture
def db(site: Site) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(site.url)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


def _send(client: TestClient, barcode: str, code: str, client_id: str | None = None) -> dict:  # type: ignore[type-arg]
    response = client.post(
        INTAKE,
        json={
            "tube_barcode": barcode,
            "code": code,
            "client_scan_id": client_id or uuid.uuid4().hex,
        },
    )
    assert response.status_code == 202, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def _row(db: sessionmaker[Session], intake_id: int) -> SamplingIntake:
    with db() as session:
        row = session.get(SamplingIntake, intake_id)
        assert row is not None
        return row


def _apply_all(db: sessionmaker[Session]) -> None:
    while applier.apply_pending(session_factory=db).rows:
        pass


def test_an_accepted_scan_is_stored_then_applied_and_readable_back(
    client: TestClient, site: Site, db: sessionmaker[Session]
) -> None:
    barcode, code = site.load.barcodes[0], site.load.codes[0]
    ack = _send(client, barcode, code, "first-scan")
    assert ack["status"] == "stored" and ack["replayed"] is False
    assert ack["tube_barcode"] == barcode and ack["people"] == 1
    assert _row(db, ack["intake_id"]).outcome is None  # stored, not applied yet

    pending = client.get(INTAKE).json()
    assert pending[0]["id"] == ack["intake_id"] and pending[0]["outcome"] == "pending"

    _apply_all(db)
    row = _row(db, ack["intake_id"])
    assert row.outcome == "applied" and row.flags == [] and row.scan_id is not None
    with db() as session:
        tube = session.scalars(select(Tube).where(Tube.barcode == barcode)).one()
        assert tube.member_count == 1
    read = client.get(INTAKE).json()[0]
    assert read["outcome"] == "applied" and read["scan_id"] == row.scan_id
    assert read["people_masked"] == ["居*0"]  # 居民0, for the sampler to check the face


def test_a_resend_is_answered_with_the_first_row_and_stores_nothing_more(
    client: TestClient, site: Site, db: sessionmaker[Session]
) -> None:
    first = _send(client, site.load.barcodes[1], site.load.codes[1], "resent-scan")
    again = _send(client, site.load.barcodes[1], site.load.codes[1], "resent-scan")
    assert again["intake_id"] == first["intake_id"] and again["replayed"] is True
    # The provisional count of the tube counts the person once.
    assert first["provisional"]["received_for_tube"] == 1
    assert again["provisional"]["received_for_tube"] == 1
    with db() as session:
        count = session.scalar(
            select(func.count())
            .select_from(SamplingIntake)
            .where(SamplingIntake.client_scan_id == "resent-scan")
        )
    assert count == 1


def test_a_forged_code_is_refused_at_ingest_and_stores_nothing(
    client: TestClient, site: Site, db: sessionmaker[Session]
) -> None:
    genuine = site.load.codes[2]
    forged = genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")
    with db() as session:
        before = session.scalar(select(func.count()).select_from(SamplingIntake))
    response = client.post(INTAKE, json={"tube_barcode": site.load.barcodes[2], "code": forged})
    assert response.status_code == 400
    assert response.json()["code"] == "testing.code_forged"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(SamplingIntake)) == before


def test_a_body_of_the_wrong_shape_is_request_invalid(client: TestClient, site: Site) -> None:
    response = client.post(INTAKE, json={"tube_barcode": 12, "code": site.load.codes[0]})
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"
    assert response.json()["field"] == "tube_barcode"
    both = client.post(
        INTAKE, json={"tube_barcode": "X", "code": site.load.codes[0], "id_number": "1"}
    )
    assert both.status_code == 400 and both.json()["code"] == "testing.scan_input_invalid"
    anonymous = client.post(INTAKE, json={}, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "auth.required"


def test_the_applier_flags_repeats_and_outsiders_and_rejects_what_does_not_fit(
    client: TestClient, site: Site, db: sessionmaker[Session]
) -> None:
    load = site.load
    in_a = _send(client, load.barcodes[3], load.codes[10])
    repeat = _send(client, load.barcodes[4], load.codes[10])  # same person, another tube
    outsider = _send(client, load.barcodes[4], site.outsider_code)
    fills = [_send(client, load.barcodes[5], load.codes[20 + n]) for n in range(4)]  # pool 3
    unknown = _send(client, "NO-SUCH-TUBE", load.codes[30])
    two_in = [_send(client, load.barcodes[7], load.codes[45 + n]) for n in range(2)]
    household = _send(client, load.barcodes[7], site.household_code)  # 2 more into 1 place
    assert household["people"] == 2
    _apply_all(db)

    assert _row(db, in_a["intake_id"]).flags == []
    assert _row(db, repeat["intake_id"]).flags == ["repeat_in_round"]
    assert _row(db, outsider["intake_id"]).outcome == "applied"
    assert _row(db, outsider["intake_id"]).flags == ["outside_round_scope"]
    assert [_row(db, f["intake_id"]).outcome for f in fills] == ["applied"] * 3 + ["rejected"]
    full = _row(db, fills[3]["intake_id"])
    assert full.error_code == "testing.tube_not_open"  # the third scan sealed the tube
    missing = _row(db, unknown["intake_id"])
    assert missing.outcome == "rejected" and missing.error_code == "testing.tube_not_found"
    assert [_row(db, s["intake_id"]).outcome for s in two_in] == ["applied", "applied"]
    too_many = _row(db, household["intake_id"])
    assert (too_many.outcome, too_many.error_code) == ("rejected", "testing.tube_full")
    rejected = [r for r in client.get(INTAKE).json() if r["outcome"] == "rejected"]
    assert {r["error_code"] for r in rejected} >= {
        "testing.tube_not_open",
        "testing.tube_not_found",
    }


class _CrashBeforeCommit(Session):
    def commit(self) -> None:
        raise RuntimeError("the applier's process died before its COMMIT")


def test_an_applier_that_dies_before_commit_leaves_everything_waiting(
    client: TestClient, site: Site, db: sessionmaker[Session]
) -> None:
    barcode = site.load.barcodes[6]
    sent = [_send(client, barcode, site.load.codes[40 + n]) for n in range(2)]
    crashing = sessionmaker(bind=db.kw["bind"], class_=_CrashBeforeCommit)
    with pytest.raises(RuntimeError):
        applier.apply_pending(session_factory=crashing)
    assert [_row(db, s["intake_id"]).outcome for s in sent] == [None, None]
    with db() as session:
        tube = session.scalars(select(Tube).where(Tube.barcode == barcode)).one()
        members = session.scalar(
            select(func.count()).select_from(TubeMember).where(TubeMember.tube_id == tube.id)
        )
        assert (tube.member_count, members) == (0, 0)

    _apply_all(db)
    assert [_row(db, s["intake_id"]).outcome for s in sent] == ["applied", "applied"]
    # A pass that committed is never repeated: nothing waits, nothing is added twice.
    assert applier.apply_pending(session_factory=db).rows == 0
    with db() as session:
        tube = session.scalars(select(Tube).where(Tube.barcode == barcode)).one()
        members = session.scalar(
            select(func.count()).select_from(TubeMember).where(TubeMember.tube_id == tube.id)
        )
        assert (tube.member_count, members) == (2, 2)
        assert applier.pending_count(session=session) == 0
