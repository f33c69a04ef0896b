"""The fast lane: exact routes go to raw handlers, everything else to FastAPI unchanged, and a
refusal looks the same whichever lane answered it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.app import create_server
from fangkong.config import Settings
from fangkong.core.errors import Conflict, CoreErrorCode
from fangkong.db.session import create_db_engine
from fangkong.testing.errors import TestingErrorCode
from fangkong.web.fastlane import FastLane, FastRequest, FastResponse, fast_actor, json_response
from tests.personas import PASSWORD


@pytest.fixture
def lane(committed_database_url: str) -> Iterator[tuple[FastLane, TestClient]]:
    server = create_server(Settings(database_url=committed_database_url))

    async def echo(request: FastRequest) -> FastResponse:
        return json_response(
            {
                "method": request.method,
                "path": request.path,
                "header": request.headers.get("x-probe"),
                "query": request.query("q"),
                "body": request.json(),
            },
            status=201,
        )

    async def refuse(request: FastRequest) -> FastResponse:
        raise Conflict(TestingErrorCode.TUBE_FULL, "the tube is full", field="tube_barcode")

    async def whoami(request: FastRequest) -> FastResponse:
        actor = await fast_actor(request, server.state.actor_cache)
        return json_response({"user_id": actor.user_id, "role": actor.role})

    async def broken(request: FastRequest) -> FastResponse:
        raise RuntimeError("boom")

    server.route("POST", "/api/v1/probe/echo", echo)
    server.route("POST", "/api/v1/probe/refuse", refuse)
    server.route("POST", "/api/v1/probe/whoami", whoami)
    server.route("GET", "/api/v1/probe/broken", broken)
    with TestClient(server, raise_server_exceptions=False) as client:
        yield server, client


def _sampler(url: str) -> tuple[int, str]:
    engine = create_db_engine(url)
    with Session(engine) as session:
        user = accounts_service.create_user(
            session=session,
            actor=None,
            username=f"lane-{uuid.uuid4().hex[:8]}",
            password=PASSWORD,
            role=Role.SAMPLER,
            display_name="lane sampler",
            area_code="430203003",
        )
        token = accounts_service.issue_api_token(
            session=session, actor=None, user=user, name="lane", expires_at=None
        )
        user_id = user.id
        session.commit()
    engine.dispose()
    return user_id, token


def test_a_registered_route_is_answered_by_its_handler(
    lane: tuple[FastLane, TestClient],
) -> None:
    _, client = lane
    response = client.post(
        "/api/v1/probe/echo?q=yes", json={"a": [1, "二"]}, headers={"X-Probe": "p"}
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "method": "POST",
        "path": "/api/v1/probe/echo",
        "header": "p",
        "query": "yes",
        "body": {"a": [1, "二"]},
    }


def test_everything_else_falls_through_to_fastapi(lane: tuple[FastLane, TestClient]) -> None:
    _, client = lane
    assert client.get("/healthz").json()["status"] == "ok"
    # Same path, other method: FastAPI answers (it knows no such route).
    missing = client.get("/api/v1/probe/echo")
    assert missing.status_code == 404
    assert missing.json()["code"] == str(CoreErrorCode.NOT_FOUND)


def test_a_refusal_has_the_api_error_shape(lane: tuple[FastLane, TestClient]) -> None:
    _, client = lane
    response = client.post("/api/v1/probe/refuse", json={})
    assert response.status_code == 409
    assert response.json() == {
        "code": "testing.tube_full",
        "field": "tube_barcode",
        "message": "the tube is full",
    }
    # FastAPI's own answer to an unauthenticated API call and the lane's are the same.
    fastapi_answer = client.get("/api/v1/testing/alerts")
    lane_answer = client.post("/api/v1/probe/whoami", json={})
    assert lane_answer.status_code == fastapi_answer.status_code == 401
    assert lane_answer.json() == fastapi_answer.json()
    assert lane_answer.json() == {
        "code": "auth.required",
        "field": None,
        "message": "please log in",
    }


def test_a_body_that_is_not_json_is_request_invalid(lane: tuple[FastLane, TestClient]) -> None:
    _, client = lane
    response = client.post(
        "/api/v1/probe/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "request.invalid"
    assert body["errors"][0]["code"] == "request.invalid"


def test_an_unexpected_failure_is_a_json_500(lane: tuple[FastLane, TestClient]) -> None:
    _, client = lane
    response = client.get("/api/v1/probe/broken")
    assert response.status_code == 500
    assert response.json()["code"] == "server.error"


def test_a_bearer_token_and_a_login_are_both_accepted(
    lane: tuple[FastLane, TestClient], committed_database_url: str
) -> None:
    _, client = lane
    user_id, token = _sampler(committed_database_url)
    by_token = client.post(
        "/api/v1/probe/whoami", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert by_token.json() == {"user_id": user_id, "role": "sampler"}
    wrong = client.post("/api/v1/probe/whoami", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "auth.token_invalid"

    engine = create_db_engine(committed_database_url)
    with Session(engine) as session:
        user = accounts_service.get_or_raise(session=session, user_id=user_id)
        issued = accounts_service.start_session(
            session=session, user=user, lifetime=timedelta(hours=1), ip=None
        )
        session.commit()
    engine.dispose()
    client.cookies.set("fk_session", issued.token)
    no_csrf = client.post("/api/v1/probe/whoami", json={})
    assert no_csrf.status_code == 403
    assert no_csrf.json()["code"] == "auth.csrf_failed"
    with_csrf = client.post(
        "/api/v1/probe/whoami", json={}, headers={"X-CSRF-Token": issued.csrf_token}
    )
    assert with_csrf.json() == {"user_id": user_id, "role": "sampler"}
    client.cookies.clear()


def test_shutdown_hooks_run_when_the_server_stops(committed_database_url: str) -> None:
    server = create_server(Settings(database_url=committed_database_url))
    stopped: list[str] = []

    async def hook() -> None:
        stopped.append("stopped")

    server.on_shutdown.append(hook)
    with TestClient(server) as client:
        assert client.get("/healthz").status_code == 200
        assert stopped == []
    assert stopped == ["stopped"]
