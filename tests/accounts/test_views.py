from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.models import LoginFailure, User
from fangkong.core.audit import AuditEvent
from fangkong.core.errors import CoreErrorCode
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.personas import LUSONG, PASSWORD, Personas, login


def new_user_body(area_code: str = "430203003") -> dict[str, str]:
    return {
        "username": "new-grid",
        "display_name": "新网格员",
        "password": "a-long-password",
        "role": "grid_worker",
        "area_code": area_code,
    }


def test_it_creates_users_only_for_administrators_inside_their_jurisdiction(
    client: TestClient, session: Session, personas: Personas
) -> None:
    hetang_admin = personas.bearer(personas.hetang_admin())
    grid_worker = personas.bearer(personas.grid_worker())

    def check(body: dict[str, object]) -> None:
        assert (body["username"], body["role"], body["jurisdiction_path"]) == (
            "new-grid",
            "grid_worker",
            "/43/4302/430203/430203003/",
        )

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/users",
        json=new_user_body(),
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal("bad token", {"Authorization": "Bearer nope"}, 401, "auth.token_invalid"),
            Refusal("wrong role", grid_worker, 403, CoreErrorCode.PERMISSION_DENIED),
            Refusal(
                "wrong jurisdiction", hetang_admin, 403, "accounts.jurisdiction_outside_creator"
            ),
        ],
        allowed_headers=personas.bearer(personas.lusong_admin()),
        allowed_status=201,
        check_allowed=check,
    )
    created = session.scalars(select(User).where(User.username == "new-grid")).one()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == str(created.id))
    ).all()
    assert [(e.action, e.actor_label) for e in events] == [("user.create", "lusong-admin")]


def test_it_names_the_field_of_a_malformed_request(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = personas.bearer(personas.admin())
    before = snapshot(session)
    response = client.post(
        "/api/v1/users", json={**new_user_body(), "role": "mayor"}, headers=headers
    )
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("request.invalid", "role")
    not_json = client.post(
        "/api/v1/users",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert (not_json.status_code, not_json.json()["code"]) == (422, "request.invalid")
    assert snapshot(session) == before


def test_it_logs_in_through_the_form_and_shows_the_roles_home(
    client: TestClient, personas: Personas
) -> None:
    personas.grid_worker()
    login(client, "jianning-grid")
    home = client.get("/?lang=zh_CN")
    assert "社区/网格员" in home.text
    assert "建宁街道" in home.text
    english = client.get("/?lang=en")
    assert "Community / grid worker" in english.text


def test_it_refuses_a_wrong_password_and_records_the_failure(
    client: TestClient, session: Session, personas: Personas
) -> None:
    personas.grid_worker()
    client.get("/login")
    token = client.cookies["fk_login_csrf"]
    response = client.post(
        "/login",
        data={"username": "jianning-grid", "password": "wrong-password", "login_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert 'data-code="auth.invalid_credentials"' in response.text
    assert "fk_session" not in client.cookies
    failures = session.scalar(select(func.count()).select_from(LoginFailure))
    assert failures == 1


def test_it_throttles_logins_after_repeated_failures(
    client: TestClient, personas: Personas
) -> None:
    personas.grid_worker()  # settings fixture allows 3 failures
    client.get("/login")
    token = client.cookies["fk_login_csrf"]
    statuses = []
    for password in ["bad-1", "bad-2", "bad-3", PASSWORD]:
        response = client.post(
            "/login",
            data={"username": "jianning-grid", "password": password, "login_csrf": token},
            follow_redirects=False,
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]
    assert 'data-code="auth.throttled"' in response.text


def test_it_refuses_a_login_post_without_the_forms_csrf_token(
    client: TestClient, personas: Personas
) -> None:
    personas.grid_worker()
    response = client.post(
        "/login",
        data={"username": "jianning-grid", "password": PASSWORD, "login_csrf": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "fk_session" not in client.cookies


def test_it_refuses_a_cookie_post_without_csrf_and_changes_nothing(
    client: TestClient, session: Session, personas: Personas
) -> None:
    personas.admin()
    csrf = login(client, "city-admin")
    before = snapshot(session)
    refused = client.post("/api/v1/users", json=new_user_body())
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.csrf_failed")
    assert snapshot(session) == before
    accepted = client.post("/api/v1/users", json=new_user_body(), headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201


def test_it_redirects_an_anonymous_page_visit_to_the_login(client: TestClient) -> None:
    response = client.get("/areas", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/areas&reason=auth.required"


def test_it_logs_out_and_the_old_cookie_no_longer_works(
    client: TestClient, personas: Personas
) -> None:
    personas.grid_worker()
    csrf = login(client, "jianning-grid")
    cookie = client.cookies["fk_session"]
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("fk_session", cookie)
    again = client.get("/api/v1/me")
    assert (again.status_code, again.json()["code"]) == (401, "auth.required")


def test_it_tells_an_expired_session_from_a_missing_one(
    client: TestClient, session: Session, personas: Personas
) -> None:
    from datetime import timedelta

    from fangkong.core.clock import ManualClock, now, use_clock

    user = personas.grid_worker()
    issued = accounts_service.start_session(
        session=session, user=user, lifetime=timedelta(hours=1), ip=None
    )
    client.cookies.set("fk_session", issued.token)
    assert client.get("/api/v1/me").status_code == 200
    with use_clock(ManualClock(now() + timedelta(hours=2))):
        response = client.get("/api/v1/me")
    assert (response.status_code, response.json()["code"]) == (401, "auth.session_expired")


def test_it_tells_a_user_about_themselves(client: TestClient, personas: Personas) -> None:
    user = personas.grid_worker()
    body = client.get("/api/v1/me", headers=personas.bearer(user)).json()
    assert (body["username"], body["role"], body["jurisdiction_path"]) == (
        "jianning-grid",
        Role.GRID_WORKER.value,
        "/43/4302/430203/430203003/",
    )
    assert "registry.view" in body["permissions"]
    assert "accounts.manage" not in body["permissions"]


def test_it_issues_an_api_token_that_then_authenticates(
    client: TestClient, personas: Personas
) -> None:
    user = personas.user("lab-1", Role.LABORATORY, LUSONG)
    issued = client.post("/api/v1/tokens", json={"name": "LIS"}, headers=personas.bearer(user))
    assert issued.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.json()['token']}"})
    assert me.json()["username"] == "lab-1"
