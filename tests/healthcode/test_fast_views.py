"""The code lookup on the fast lane answers exactly what the FastAPI route answers (the same
bytes, the same refusals), reads the stored code afresh on every request, and computes a
first code like the route does.

Both lanes run against one committed database per backend: the lane reads through connections
of its own, so the data must be committed."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.models import ApiToken, User, UserSession
from fangkong.app import create_app, create_server
from fangkong.config import Settings, get_settings
from fangkong.core.ids import token_digest
from fangkong.db.session import create_db_engine
from fangkong.healthcode import fast_views
from fangkong.healthcode.models import HealthCode
from fangkong.registry.models import Person
from fangkong.web.deps import SESSION_COOKIE, get_session
from tests.personas import PASSWORD

ME = "/api/v1/healthcode/me"
NOW = datetime(2022, 11, 15, 4, tzinfo=UTC)
_serial = itertools.count(1)


@dataclass
class Lanes:
    engine: Engine
    lane: TestClient  # what uvicorn serves: the fast lane in front of the app
    route: TestClient  # the FastAPI application alone: the route the lane replaces


@pytest.fixture(scope="module")
def lanes(committed_database_url: str) -> Iterator[Lanes]:
    settings = Settings(database_url=committed_database_url)
    engine = create_db_engine(committed_database_url)

    def session() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as opened:
            yield opened

    app = create_app(settings)
    app.dependency_overrides[get_session] = session
    app.dependency_overrides[get_settings] = lambda: settings
    server = create_server(settings)
    with TestClient(server) as lane, TestClient(app) as route:
        yield Lanes(engine, lane, route)
    server.state.code_lookup.close()
    engine.dispose()


def _person(session: Session) -> int:
    number = next(_serial)
    person = Person(
        area_path="/43/4302/430203/",
        document_type="resident_id",
        id_number_encrypted=f"test:{number}",
        id_number_index=f"test-lookup-{number}-{uuid.uuid4().hex}",
        id_number_masked="4302**********0000",
        name=f"查码{number}",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(person)
    session.flush()
    return person.id


def _user(
    session: Session, role: Role, person_id: int | None = None, *, active: bool = True
) -> User:
    user = accounts_service.create_user(
        session=session,
        actor=None,
        username=f"lookup-{uuid.uuid4().hex[:10]}",
        password=PASSWORD,
        role=role,
        display_name="lookup",
        area_code=None if role is Role.RESIDENT else "430203003",
        person_id=person_id,
    )
    user.is_active = active
    session.flush()
    return user


def _token(
    session: Session,
    role: Role,
    person_id: int | None = None,
    *,
    expires_at: datetime | None = None,
    active: bool = True,
) -> str:
    return accounts_service.issue_api_token(
        session=session,
        actor=None,
        user=_user(session, role, person_id, active=active),
        name="lookup",
        expires_at=expires_at,
    )


def _login(session: Session, person_id: int, lifetime: timedelta) -> str:
    user = _user(session, Role.RESIDENT, person_id)
    issued = accounts_service.start_session(session=session, user=user, lifetime=lifetime, ip=None)
    return issued.token


def _code(person_id: int, decided_at: datetime, valid_until: datetime | None) -> dict[str, object]:
    return {
        "person_id": person_id,
        "colour": "yellow",
        "rule_id": "hc.skipped_rounds",
        "pack_id": "zhuzhou",
        "pack_version": 1,
        "reasons": ["hc.skipped_rounds", "hc.negative_older_than"],
        "decided_at": decided_at,
        "valid_until": valid_until,
        "revision": 1,
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_lane_answers_the_routes_bytes(lanes: Lanes) -> None:
    with Session(lanes.engine) as session:
        plain, precise = _person(session), _person(session)
        session.execute(
            insert(HealthCode),
            [
                _code(plain, NOW, None),
                _code(
                    precise,
                    datetime(2022, 11, 15, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=8))),
                    NOW + timedelta(days=2),
                ),
            ],
        )
        tokens = [_token(session, Role.RESIDENT, plain), _token(session, Role.RESIDENT, precise)]
        session.commit()

    answers = [(lanes.lane.get(ME, headers=_bearer(t)), t) for t in tokens]

    for answer, token in answers:
        expected = lanes.route.get(ME, headers=_bearer(token))
        assert answer.status_code == expected.status_code == 200
        assert answer.content == expected.content
        assert answer.headers["content-type"] == expected.headers["content-type"]
    assert answers[0][0].json() == {
        "person_id": plain,
        "colour": "yellow",
        "rule_id": "hc.skipped_rounds",
        "pack_id": "zhuzhou",
        "pack_version": 1,
        "reasons": ["hc.skipped_rounds", "hc.negative_older_than"],
        "decided_at": "2022-11-15T04:00:00Z",
        "valid_until": None,
    }
    assert answers[1][0].json()["decided_at"] == "2022-11-15T04:30:05.123456Z"
    assert answers[1][0].json()["valid_until"] == "2022-11-17T04:00:00Z"


def test_a_changed_code_is_what_the_next_lookup_shows(lanes: Lanes) -> None:
    with Session(lanes.engine) as session:
        person = _person(session)
        session.execute(insert(HealthCode), [_code(person, NOW, None)])
        token = _token(session, Role.RESIDENT, person)
        session.commit()
    assert lanes.lane.get(ME, headers=_bearer(token)).json()["colour"] == "yellow"

    with Session(lanes.engine) as session:
        session.execute(
            update(HealthCode)
            .where(HealthCode.person_id == person)
            .values(colour="green", rule_id="hc.no_risk", reasons=[], revision=2)
        )
        session.commit()
    after = lanes.lane.get(ME, headers=_bearer(token))

    assert (after.json()["colour"], after.json()["rule_id"], after.json()["reasons"]) == (
        "green",
        "hc.no_risk",
        [],
    )
    assert after.content == lanes.route.get(ME, headers=_bearer(token)).content


def test_a_resident_without_a_code_gets_one_computed_and_stored(lanes: Lanes) -> None:
    with Session(lanes.engine) as session:
        person = _person(session)
        token = _token(session, Role.RESIDENT, person)
        session.commit()

    first = lanes.lane.get(ME, headers=_bearer(token))

    assert first.status_code == 200
    with Session(lanes.engine) as session:
        stored = session.execute(
            select(HealthCode.colour, HealthCode.rule_id).where(HealthCode.person_id == person)
        ).one()
    assert (first.json()["person_id"], first.json()["colour"], first.json()["rule_id"]) == (
        person,
        stored.colour,
        stored.rule_id,
    )
    assert first.content == lanes.route.get(ME, headers=_bearer(token)).content


def test_refusals_are_the_routes(lanes: Lanes) -> None:
    with Session(lanes.engine) as session:
        sampler = _token(session, Role.SAMPLER)
        person = _person(session)
        expired = _token(session, Role.RESIDENT, person, expires_at=NOW)
        disabled = _token(session, Role.RESIDENT, person, active=False)
        revoked = _token(session, Role.RESIDENT, person)
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_digest == token_digest(revoked))
            .values(revoked_at=NOW)
        )
        stale = _login(session, person, timedelta(hours=1))
        session.execute(
            update(UserSession)
            .where(UserSession.token_digest == token_digest(stale))
            .values(expires_at=NOW)
        )
        ended = _login(session, person, timedelta(hours=1))
        accounts_service.end_session(session=session, token=ended)
        session.commit()
    cases = {
        "no credentials": ({}, 401, "auth.required"),
        "unknown token": (_bearer("not-a-token"), 401, "auth.token_invalid"),
        "staff without self-service": (_bearer(sampler), 403, "permission.denied"),
        "expired token": (_bearer(expired), 401, "auth.token_invalid"),
        "revoked token": (_bearer(revoked), 401, "auth.token_invalid"),
        "disabled account": (_bearer(disabled), 401, "auth.user_disabled"),
        "unknown session": (_cookie("not-a-session"), 401, "auth.required"),
        "expired session": (_cookie(stale), 401, "auth.session_expired"),
        "ended session": (_cookie(ended), 401, "auth.required"),
    }
    for name, (headers, status, code) in cases.items():
        lane, route = lanes.lane.get(ME, headers=headers), lanes.route.get(ME, headers=headers)

        assert (lane.status_code, lane.json()["code"]) == (status, code), name
        assert (route.status_code, route.json()) == (lane.status_code, lane.json()), name


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def test_a_login_session_is_accepted_like_a_token(lanes: Lanes) -> None:
    with Session(lanes.engine) as session:
        person = _person(session)
        session.execute(insert(HealthCode), [_code(person, NOW, None)])
        cookie = _cookie(_login(session, person, timedelta(hours=1)))
        session.commit()

    answer = lanes.lane.get(ME, headers=cookie)

    assert answer.status_code == 200
    assert answer.json()["person_id"] == person
    assert answer.content == lanes.route.get(ME, headers=cookie).content
    assert fast_views.SESSION_COOKIE == SESSION_COOKIE
