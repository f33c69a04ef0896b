"""``fangkong demo``: prepare the embedded database with demo data and serve it.

The demo is the real Hunan division tree with a synthetic Zhuzhou of 100,000 residents on it
(generated once, when the database has no city yet), a 30-day drill of the November 2022
outbreak run on it through the platform (so every page has data), and one account per role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.config import REPO_ROOT, get_settings
from fangkong.core.scope import within_path
from fangkong.db import migrate
from fangkong.db.session import session_scope
from fangkong.demo_resumption import prepare_resumption_demo
from fangkong.drill import cli as drill_cli
from fangkong.drill import report as drill_report
from fangkong.registry import service as registry_service
from fangkong.registry.models import Person
from fangkong.sim.city import cli as city_cli
from fangkong.sim.city import load as city_load
from fangkong.sim.city.generator import DEFAULT_SEED

app = typer.Typer(help="Demo data and server.", invoke_without_command=True)

DEMO_PASSWORD = "fangkong-demo"
ZHUZHOU = "4302"
LUSONG = "430203"
JIANNING_STREET = "430203003"
# The first grid of the first community of 建宁街道 in the generated city: the demo grid worker
# sees real (synthetic) residents. Street communities are numbered from 001, grids from 001.
JIANNING_FIRST_GRID = f"{JIANNING_STREET}001001"
DEMO_POPULATION = 100_000
# The November 2022 outbreak of Zhuzhou, replayed on the synthetic city.
DEMO_PACK = "zhuzhou-2022-11"
DEMO_DRILL_DAYS = 30
DEMO_REPORT_DIR = REPO_ROOT / "var" / "drill"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    area_code: str | None


DEMO_ACCOUNTS = (
    DemoAccount("command", Role.COMMAND_CENTRE, ZHUZHOU),
    DemoAccount("district", Role.DISTRICT_OFFICER, LUSONG),
    DemoAccount("grid", Role.GRID_WORKER, JIANNING_FIRST_GRID),
    DemoAccount("sampler", Role.SAMPLER, LUSONG),
    DemoAccount("lab", Role.LABORATORY, ZHUZHOU),
    DemoAccount("epi", Role.EPIDEMIOLOGIST, ZHUZHOU),
    DemoAccount("isolation", Role.ISOLATION_MANAGER, ZHUZHOU),
    DemoAccount("transfer", Role.TRANSFER_TEAM, ZHUZHOU),
    DemoAccount("industry", Role.INDUSTRY_BUREAU, ZHUZHOU),
    DemoAccount("enterprise", Role.ENTERPRISE, LUSONG),
    DemoAccount("volunteer", Role.VOLUNTEER, JIANNING_STREET),
    DemoAccount("checkpoint", Role.CHECKPOINT, LUSONG),
    DemoAccount("admin", Role.ADMINISTRATOR, ZHUZHOU),
    # The resident is an adult of the demo grid, chosen when the account is made.
    DemoAccount("resident", Role.RESIDENT, None),
)
ADULT_BORN_BEFORE = date(2000, 1, 1)


def demo_resident(*, session: Session) -> Person | None:
    """The generated adult (lowest id) living in the demo grid, whom the resident account is."""
    grid = registry_service.get_by_code(session=session, code=JIANNING_FIRST_GRID)
    if grid is None:
        return None
    stmt = (
        select(Person)
        .where(
            within_path(Person.area_path, grid.path),
            Person.household_id.is_not(None),
            Person.birth_date < ADULT_BORN_BEFORE,
        )
        .order_by(Person.id)
        .limit(1)
    )
    return session.scalars(stmt).one_or_none()


def ensure_demo_accounts(*, session: Session) -> list[DemoAccount]:
    """Create the demo accounts that do not exist yet; returns those created."""
    created = []
    for account in DEMO_ACCOUNTS:
        if accounts_service.get_by_username(session=session, username=account.username):
            continue
        person = demo_resident(session=session) if account.role is Role.RESIDENT else None
        if account.role is Role.RESIDENT and person is None:
            continue  # no generated city yet: nobody for the resident account to be
        accounts_service.create_user(
            session=session,
            actor=None,
            username=account.username,
            password=DEMO_PASSWORD,
            role=account.role,
            display_name=person.name if person else account.username,
            area_code=account.area_code,
            person_id=person.id if person else None,
            household_id=person.household_id if person else None,
        )
        created.append(account)
    return created


def prepare(
    *,
    population: int = DEMO_POPULATION,
    drill_days: int = DEMO_DRILL_DAYS,
    seed: int = 1,
    report_dir: Path = DEMO_REPORT_DIR,
) -> None:
    """Migrate the configured database and load the demo data (idempotent: a database that
    already has a city keeps it, whatever ``population`` says). When the city is generated
    here, a drill of ``drill_days`` days (0 for none) runs on it under ``DEMO_PACK``."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    with session_scope() as session:
        loaded = registry_service.load_divisions(session=session)
        has_city = city_load.city_exists(session=session, city_code=ZHUZHOU)
    typer.echo(f"divisions: {loaded.inserted} added, {loaded.already_present} already present")
    if not has_city:
        typer.echo(f"generating the synthetic city ({population:,} residents)…")
        city_cli.build_city(
            population=population, seed=DEFAULT_SEED, processes=1, show_progress=True
        )
    with session_scope() as session:
        ensure_demo_accounts(session=session)
    if not has_city and drill_days > 0:
        result = drill_cli.run_with_progress(
            database_url=settings.database_url,
            population=population,
            pack=DEMO_PACK,
            seed=seed,
            days=drill_days,
            migrate_first=False,
        )
        _, html_path = drill_report.write(result, report_dir)
        typer.echo(
            f"drill: {result['infections_true']} infected, {result['cases_detected']} detected; "
            f"report: {html_path}"
        )
    with session_scope() as session:
        resident = demo_resident(session=session)
        if prepare_resumption_demo(
            session=session,
            street_code=JIANNING_STREET,
            grid_code=JIANNING_FIRST_GRID,
            accounts={
                "industry": "industry",
                "enterprise": "enterprise",
                "district": "district",
                "grid": "grid",
                "volunteer": "volunteer",
            },
            resident_person_id=resident.id if resident else None,
        ):
            typer.echo("work resumption, supplies and vaccination demo data added")


def print_accounts(host: str, port: int) -> None:
    typer.echo("")
    typer.echo(f"fangkong demo: http://{host}:{port}/")
    typer.echo(f"demo accounts (password: {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        where = f"area {account.area_code}" if account.area_code else "self and household"
        typer.echo(f"  {account.username:<12} {account.role.value:<18} {where}")
    typer.echo("")


@app.callback()
def demo(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    serve: bool = typer.Option(True, help="Start the server after preparing the data."),
    population: int = typer.Option(
        DEMO_POPULATION, min=1_000, help="Residents of the synthetic city, when one is generated."
    ),
    drill_days: int = typer.Option(
        DEMO_DRILL_DAYS,
        min=0,
        help="Days of the drill run on a newly generated city (0: no drill).",
    ),
    report_dir: Path = typer.Option(DEMO_REPORT_DIR, help="Where the drill report is written."),
) -> None:
    """Prepare the demo database (city, drill, accounts) and serve it."""
    if ctx.invoked_subcommand is not None:
        return
    prepare(population=population, drill_days=drill_days, report_dir=report_dir)
    print_accounts(host, port)
    if serve:
        from fangkong.web.cli import serve as run_server

        run_server(host=host, port=port, workers=1)
