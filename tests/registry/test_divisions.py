from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.errors import CoreErrorCode
from fangkong.registry import service
from fangkong.registry.models import Area
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import LUSONG, Personas


def test_it_has_loaded_zhuzhou_with_its_9_counties_and_112_streets_and_towns(
    session: Session,
) -> None:
    counts = service.count_by_level(session=session, under_path="/43/4302/")
    assert counts == {"city": 1, "county": 9, "township": 112}
    lukou = service.get_by_code_or_raise(session=session, code="430212")
    assert (lukou.name, lukou.level, lukou.path) == ("渌口区", "county", "/43/4302/430212/")


def test_it_loads_the_divisions_idempotently(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(Area))
    again = service.load_divisions(session=session)
    assert (again.inserted, again.already_present) == (0, before)
    assert before == 2157  # 1 province + 14 cities + 134 counties + 2,008 townships


def test_it_lists_child_areas_inside_the_callers_jurisdiction_only(
    client: TestClient, session: Session, personas: Personas
) -> None:
    grid_worker = personas.bearer(personas.grid_worker())
    resident = personas.bearer(personas.resident())
    officer = personas.user("lusong-officer", Role.DISTRICT_OFFICER, LUSONG)

    def check(body: list[dict[str, str]]) -> None:
        assert len(body) == 8
        assert body[0] == {
            "id": body[0]["id"],
            "code": "430203001",
            "name": "贺家土街道",
            "level": "township",
            "path": "/43/4302/430203/430203001/",
        }

    assert_authorization_matrix(
        client=client,
        session=session,
        method="GET",
        url="/api/v1/areas?parent=430203",
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal("resident", resident, 403, CoreErrorCode.PERMISSION_DENIED),
            Refusal(
                "grid worker of one street", grid_worker, 403, "permission.outside_jurisdiction"
            ),
        ],
        allowed_headers=personas.bearer(officer),
        allowed_status=200,
        check_allowed=check,
    )


def test_it_answers_an_unknown_area_with_its_code(client: TestClient, personas: Personas) -> None:
    response = client.get("/api/v1/areas?parent=999999", headers=personas.bearer(personas.admin()))
    assert (response.status_code, response.json()) == (
        404,
        {"code": "registry.area_not_found", "field": "code", "message": "no area with code 999999"},
    )
