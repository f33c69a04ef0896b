"""``fangkong drill``: run a drill (演练) on the synthetic city and write its report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from fangkong.config import get_settings
from fangkong.core.crypto import get_cipher
from fangkong.core.errors import FangkongError
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.drill import compare as drill_compare
from fangkong.drill import report as drill_report
from fangkong.drill.loop import CITY_CODE, run_drill
from fangkong.drill.records import DayRecord, DrillConfig
from fangkong.drill.text import LOCALES
from fangkong.drill.twin import load_parameters, load_population
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.registry import service as registry_service
from fangkong.rulepacks.catalog import load_catalog
from fangkong.sim.city import load as city_load
from fangkong.sim.city.facilities import seed_facilities
from fangkong.sim.city.generator import DEFAULT_SEED, generate

app = typer.Typer(help="Drills: the digital twin driving the platform.", no_args_is_help=True)


def prepare_database(*, database_url: str, population: int, city_seed: int = DEFAULT_SEED) -> bool:
    """Migrate the database, load the divisions and generate the city if it has none; True
    when a city was generated."""
    migrate.upgrade(database_url)
    engine = create_db_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            registry_service.load_divisions(session=session)
            if city_load.city_exists(session=session, city_code=CITY_CODE):
                return False
            city = generate(population=population, seed=city_seed)
            city_load.load_city(session=session, city=city, cipher=get_cipher())
            seed_facilities(session=session, city_code=CITY_CODE)
            session.commit()
            return True
    finally:
        engine.dispose()


def run_in_database(
    *,
    database_url: str,
    population: int,
    pack: str,
    seed: int,
    days: int,
    city_seed: int = DEFAULT_SEED,
    on_day: Callable[[DayRecord], None] = lambda _day: None,
    on_step: Callable[[str], None] = lambda _step: None,
    migrate_first: bool = True,
    stop_at_zero: bool = True,
) -> dict[str, Any]:
    """Migrate the database, generate the city if it has none, run the drill; the report.

    Raises ``RulePackError`` (``rulepack.pack_not_found``) before touching the database when
    ``pack`` is unknown."""
    load_catalog(schemas=[HEALTHCODE_SECTION]).get(pack)
    if migrate_first:
        migrate.upgrade(database_url)
    engine = create_db_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            registry_service.load_divisions(session=session)
            if not city_load.city_exists(session=session, city_code=CITY_CODE):
                on_step(f"generating the synthetic city ({population:,} residents)")
                city = generate(population=population, seed=city_seed)
                city_load.load_city(session=session, city=city, cipher=get_cipher())
                seed_facilities(session=session, city_code=CITY_CODE)
            session.commit()
            on_step("reading the city into the twin")
            start = load_parameters().start
            people, index = load_population(
                session=session, city_code=CITY_CODE, on=date(start.year, start.month, start.day)
            )
            on_step(f"drill: {people.size:,} residents, pack {pack}, seed {seed}, {days} days")
            run = run_drill(
                session=session,
                population=people,
                index=index,
                config=DrillConfig(pack_id=pack, seed=seed, days=days, stop_at_zero=stop_at_zero),
                commit=session.commit,
                on_day=on_day,
            )
            session.commit()
    finally:
        engine.dispose()
    return drill_report.build(run)


def run_with_progress(
    *,
    database_url: str,
    population: int,
    pack: str,
    seed: int,
    days: int,
    show: bool = True,
    migrate_first: bool = True,
) -> dict[str, Any]:
    """``run_in_database`` with a progress bar and one bulletin line per day."""
    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show) as bar:
        task = bar.add_task("drill", total=days)

        def on_day(record: DayRecord) -> None:
            bar.console.print(record.bulletin())
            bar.advance(task)

        return run_in_database(
            database_url=database_url,
            population=population,
            pack=pack,
            seed=seed,
            days=days,
            on_day=on_day,
            on_step=lambda step: bar.console.print(step),
            migrate_first=migrate_first,
        )


@app.command("run")
def run(
    population: int = typer.Option(100_000, min=1_000, help="Residents, if a city is generated."),
    pack: str = typer.Option("zhuzhou-2022-11", help="Rule pack the platform runs under."),
    seed: int = typer.Option(1, help="Same seed, same drill."),
    days: int = typer.Option(30, min=1, help="Day limit."),
    report_dir: Path = typer.Option(Path("var/drill"), help="Where the report is written."),
    progress: bool = typer.Option(True, help="Show the progress bar."),
    lang: str = typer.Option("zh_CN", "--lang", help="Language of the HTML report: zh_CN or en."),
) -> None:
    """Run a drill on the configured database (the city is generated there if it has none)."""
    _check_lang(lang)
    try:
        result = run_with_progress(
            database_url=get_settings().database_url,
            population=population,
            pack=pack,
            seed=seed,
            days=days,
            show=progress,
        )
    except FangkongError as error:
        typer.echo(f"error: [{error.code}] {error.message}", err=True)
        raise typer.Exit(1) from error
    json_path, html_path = drill_report.write(result, report_dir, lang)
    typer.echo(
        f"{result['infections_true']} infected, {result['cases_detected']} detected; "
        f"report: {html_path} ({json_path.name})"
    )


@app.command("compare")
def compare(
    packs: list[str] = typer.Option(["cn-9", "cn-20", "zhuzhou-2022-11"], "--packs"),
    seeds: int = typer.Option(3, min=1, help="Drills per pack (seeds 1..N)."),
    population: int = typer.Option(20_000, min=1_000),
    days: int = typer.Option(30, min=1),
    work_dir: Path = typer.Option(Path("var/drill-compare"), help="Databases and reports."),
    lang: str = typer.Option("zh_CN", "--lang", help="Language of the HTML reports: zh_CN or en."),
) -> None:
    """Run each pack on the same city and seeds (one fresh SQLite database per drill), print
    the mean and 95% confidence interval of the report figures and write the comparison with
    its charts to ``compare.html`` in ``work_dir``."""
    _check_lang(lang)
    results: dict[str, list[dict[str, Any]]] = {}
    for pack in packs:
        for seed in range(1, seeds + 1):
            db = work_dir / f"{pack}-{seed}.db"
            db.unlink(missing_ok=True)
            typer.echo(f"{pack} seed {seed}…")
            outcome = run_in_database(
                database_url=f"sqlite:///{db.resolve()}",
                population=population,
                pack=pack,
                seed=seed,
                days=days,
            )
            drill_report.write(outcome, work_dir / f"{pack}-{seed}", lang)
            results.setdefault(pack, []).append(outcome)
    for line in drill_compare.markdown_table(results):
        typer.echo(line)
    page = work_dir / "compare.html"
    page.write_text(drill_compare.to_html(results, lang), encoding="utf-8")
    typer.echo(f"charts: {page}")


def _check_lang(lang: str) -> None:
    if lang not in LOCALES:
        typer.echo(f"error: --lang must be one of {', '.join(LOCALES)}", err=True)
        raise typer.Exit(2)
