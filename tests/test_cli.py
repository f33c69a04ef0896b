from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Select, func, select, text
from typer.testing import CliRunner

from fangkong.accounts.models import User
from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.core.audit import AuditEvent
from fangkong.core.crypto import get_cipher
from fangkong.db.session import create_db_engine, get_engine, get_sessionmaker
from fangkong.demo import DEMO_ACCOUNTS, JIANNING_FIRST_GRID
from fangkong.registry.models import Person

runner = CliRunner()


def _clear_caches() -> None:
    for cached in (get_settings, get_engine, get_sessionmaker, get_cipher):
        cached.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    _clear_caches()
    yield url
    get_engine().dispose()
    _clear_caches()


DEMO = ["demo", "--no-serve", "--population", "3000", "--drill-days", "0"]


def _count(url: str, statement: Select[tuple[int]]) -> int:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(statement)
    engine.dispose()
    return int(value or 0)


def test_it_prepares_the_demo_without_serving_and_is_idempotent(sqlite_url: str) -> None:
    first = runner.invoke(app, DEMO)
    assert first.exit_code == 0, first.output
    assert "divisions: 2157 added, 0 already present" in first.output
    assert "generating the synthetic city (3,000 residents)" in first.output
    persons = _count(sqlite_url, select(func.count()).select_from(Person))
    users = _count(sqlite_url, select(func.count()).select_from(User))
    second = runner.invoke(app, DEMO)
    assert "divisions: 0 added, 2157 already present" in second.output
    assert "generating" not in second.output
    assert persons == 3000
    assert _count(sqlite_url, select(func.count()).select_from(Person)) == persons
    assert _count(sqlite_url, select(func.count()).select_from(User)) == users
    demo_users = select(func.count()).where(
        User.username.in_([account.username for account in DEMO_ACCOUNTS])
    )
    assert _count(sqlite_url, demo_users) == len(DEMO_ACCOUNTS)
    resident_in_demo_grid = (
        select(func.count())
        .select_from(User)
        .join(Person, Person.id == User.person_id)
        .where(
            User.username == "resident",
            User.household_id == Person.household_id,
            Person.area_path.endswith(f"/{JIANNING_FIRST_GRID}/"),
        )
    )
    assert _count(sqlite_url, resident_in_demo_grid) == 1


def test_it_creates_a_user_from_the_console_and_refuses_a_bad_area(sqlite_url: str) -> None:
    assert runner.invoke(app, DEMO).exit_code == 0
    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "wang.li",
            "--role",
            "grid_worker",
            "--area",
            "430203003",
        ],
        input="a-strong-password\na-strong-password\n",
    )
    assert created.exit_code == 0, created.output
    assert "created user wang.li" in created.output
    refused = runner.invoke(
        app,
        ["users", "create", "--username", "zhao", "--role", "grid_worker", "--area", "999"],
        input="a-strong-password\na-strong-password\n",
    )
    assert refused.exit_code == 2
    assert "[registry.area_not_found]" in refused.output


@pytest.mark.parametrize(
    "command",
    [[], ["db"], ["users"], ["areas"], ["serve"], ["demo"], ["keys"], ["audit"], ["command"]],
)
def test_it_documents_every_command(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_it_verifies_the_audit_chain_and_catches_a_tampered_row(sqlite_url: str) -> None:
    assert runner.invoke(app, DEMO).exit_code == 0
    events = _count(sqlite_url, select(func.count()).select_from(AuditEvent))
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert f"{events} events checked: the chain is intact" in intact.output
    engine = create_db_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor_label = 'someone else' WHERE id = 5"))
    engine.dispose()
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1
    assert "audit chain broken at event 5 (edited) after 4 good events" in tampered.output


def test_it_generates_production_keys_that_the_settings_accept() -> None:
    from fangkong.config import Settings

    result = runner.invoke(app, ["keys", "generate", "--key-id", "2026a"])
    values = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    settings = Settings(
        environment="production",
        secure_cookies=True,
        secret_key=values["FANGKONG_SECRET_KEY"],
        encryption_keys=values["FANGKONG_ENCRYPTION_KEYS"],
        blind_index_keys=values["FANGKONG_BLIND_INDEX_KEYS"],
        code_signing_key=values["FANGKONG_CODE_SIGNING_KEY"],
    )
    assert settings.encryption_keys.startswith("2026a:")


def test_it_evaluates_risk_areas_from_the_console(sqlite_url: str) -> None:
    assert runner.invoke(app, DEMO).exit_code == 0

    result = runner.invoke(app, ["risk-areas", "evaluate"])

    assert result.exit_code == 0, result.output
    # The demo's one confirmed designation: the building locked down for the supply demo. Its
    # 36 residents' codes follow the designation (19 had a green code from before it, 17 none).
    assert result.output.strip() == (
        "1 evaluated, 0 changed, 0 lifted, 0 awaiting confirmation, 0 skipped; "
        "36 health codes changed"
    )


def test_it_imports_a_scan_log_and_lists_the_bad_rows(sqlite_url: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    log = tmp_path / "scans.csv"
    log.write_text("person_id,venue_id,scanned_at\n1,1,2022-11-09T10:00:00+00:00\n", "utf-8")
    result = runner.invoke(app, ["tracing", "import-scans", str(log)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "row 0: [scan.unknown_person] person_id: no such person",
        "0 scans stored, 1 rejected",
    ]
    purged = runner.invoke(app, ["tracing", "purge-scans", "--days", "0"])
    assert (purged.exit_code, purged.output.strip()) == (
        2,
        "error [scans.retention_invalid] retention and batch size must be at least 1",
    )


def test_it_imports_a_passenger_manifest_and_lists_the_bad_rows(
    sqlite_url: str, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    manifest = tmp_path / "cz3456.csv"
    manifest.write_text(
        "mode,number,service_date,person_id,seat\n"
        "flight,CZ3456,2022-11-07,1,12A\n"
        "ship,CZ3456,2022-11-07,1,12A\n",
        "utf-8",
    )
    result = runner.invoke(app, ["tracing", "import-manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "row 0: person_id: no such person",
        "row 1: mode: one of flight, train, bus, taxi",
        "0 journeys stored, 0 already on record, 2 rejected",
    ]
    bad = tmp_path / "cz3456.txt"
    bad.write_text("mode\n", "utf-8")
    refused = runner.invoke(app, ["tracing", "import-manifest", str(bad)])
    assert (refused.exit_code, refused.output.strip()) == (
        2,
        "error [scans.import_format_unknown] passenger manifests are imported from .csv files",
    )


def test_it_opens_cases_from_positive_results_from_the_console(sqlite_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["tracing", "open-cases"])
    assert (result.exit_code, result.output.strip()) == (0, "0 cases opened")


def test_it_rebuilds_every_residents_vaccination_level_from_the_doses(sqlite_url: str) -> None:
    assert runner.invoke(app, DEMO).exit_code == 0
    dosed = select(func.count(func.distinct(text("person_id")))).select_from(text("dose_record"))
    right = _count(sqlite_url, select(func.count()).where(Person.vaccination_level > 0))
    engine = create_db_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE person SET vaccination_level = 0"))
    engine.dispose()

    repaired = runner.invoke(app, ["vaccination", "rebuild-levels"])
    again = runner.invoke(app, ["vaccination", "rebuild-levels"])

    assert right == _count(sqlite_url, dosed) > 0
    assert repaired.exit_code == 0, repaired.output
    assert repaired.output == f"{right} residents' levels changed\n"
    assert again.output == "0 residents' levels changed\n"
    assert _count(sqlite_url, select(func.count()).where(Person.vaccination_level > 0)) == right
    rebuilt = select(func.count()).where(AuditEvent.action == "vaccination.levels_rebuilt")
    assert _count(sqlite_url, rebuilt) == 2


def test_it_rebuilds_the_test_summaries_from_the_samples(sqlite_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = create_db_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (id, area_path, name, created_at, updated_at, tags, status)"
                " VALUES"
                " (1, '/43/', 'n', '2022-11-10 00:00:00.000000', '2022-11-10 00:00:00.000000',"
                " 0, 'active')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tube (id, barcode, area_path, pool_size, member_count, status,"
                " opened_at) VALUES (1, 'ZZ1', '/43/', 1, 1, 'sealed',"
                " '2022-11-10 01:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tube_member (tube_id, person_id, sampled_at)"
                " VALUES (1, 1, '2022-11-10 01:00:00.000250')"
            )
        )
    engine.dispose()

    result = runner.invoke(app, ["testing", "rebuild-summary"])

    assert (result.exit_code, result.output) == (0, "1 people's test summaries rebuilt\n")
    sampled = select(text("last_sampled_us")).select_from(text("person_test_summary"))
    assert _count(sqlite_url, sampled) == 1_668_042_000_000_250
    rebuilt = select(func.count()).where(AuditEvent.action == "testing.summaries_rebuilt")
    assert _count(sqlite_url, rebuilt) == 1
