"""The shell serves everything it needs itself: no page refers to another host."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.personas import Personas, login

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_it_answers_health_checks(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "version": "0.1.0"}


def test_it_serves_the_api_documentation_and_its_assets_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = ASSET.findall(page.text)
    assert sorted(assets) == [
        "/static/favicon.svg",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
    ]
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert '"validatorUrl": null' in page.text
    assert "/api/v1/me" in client.get("/openapi.json").json()["paths"]


def test_it_serves_every_asset_of_a_page_from_itself(
    client: TestClient, personas: Personas
) -> None:
    personas.grid_worker()
    login(client, "jianning-grid")
    page = client.get("/")
    assets = [a for a in ASSET.findall(page.text) if a.startswith("/static/")]
    assert assets == [
        "/static/favicon.svg",
        "/static/css/app.css",
        "/static/vendor/htmx.min.js",
        "/static/js/app.js",
    ]
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert not re.search(r"""(?:src|href)=["']https?://""", page.text)
