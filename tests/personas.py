"""Named users for tests, created on demand in the test's own transaction."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.models import User

PASSWORD = "correct horse battery"
ZHUZHOU = "4302"
LUSONG = "430203"  # 芦淞区
HETANG = "430202"  # 荷塘区
JIANNING = "430203003"  # 建宁街道, in 芦淞区


class Personas:
    def __init__(self, session: Session) -> None:
        self.session = session

    def user(self, username: str, role: Role, area_code: str | None = None, **extra: int) -> User:
        existing = accounts_service.get_by_username(session=self.session, username=username)
        if existing is not None:
            return existing
        user = accounts_service.create_user(
            session=self.session,
            actor=None,
            username=username,
            password=PASSWORD,
            role=role,
            display_name=username,
            area_code=area_code,
            **extra,
        )
        self.session.flush()
        return user

    def admin(self) -> User:
        return self.user("city-admin", Role.ADMINISTRATOR, ZHUZHOU)

    def lusong_admin(self) -> User:
        return self.user("lusong-admin", Role.ADMINISTRATOR, LUSONG)

    def hetang_admin(self) -> User:
        return self.user("hetang-admin", Role.ADMINISTRATOR, HETANG)

    def grid_worker(self) -> User:
        return self.user("jianning-grid", Role.GRID_WORKER, JIANNING)

    def resident(self) -> User:
        return self.user("resident-1", Role.RESIDENT, person_id=1, household_id=1)

    def token_for(self, user: User) -> str:
        return accounts_service.issue_api_token(
            session=self.session, actor=None, user=user, name="test", expires_at=None
        )

    def bearer(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(user)}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the real login form; returns the page's CSRF token."""
    page = client.get("/login")
    token = client.cookies.get("fk_login_csrf")
    assert page.status_code == 200 and token
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/")
    assert home.status_code == 200
    marker = 'name="csrf-token" content="'
    start = home.text.index(marker) + len(marker)
    return home.text[start : home.text.index('"', start)]
