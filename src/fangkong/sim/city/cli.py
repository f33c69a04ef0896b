"""``fangkong city``: the synthetic Zhuzhou."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fangkong.core.crypto import get_cipher
from fangkong.core.errors import FangkongError
from fangkong.db.session import session_scope
from fangkong.registry import bulk
from fangkong.sim.city import generator, load
from fangkong.sim.city.facilities import seed_facilities

app = typer.Typer(help="Synthetic city (digital twin).", no_args_is_help=True)


def build_city(*, population: int, seed: int, processes: int, show_progress: bool) -> load.Loaded:
    """Generate a city and load it into the configured database in one transaction."""
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show_progress) as bar:
        task = bar.add_task("generate", total=3)
        city = generator.generate(
            population=population, seed=seed, progress=lambda _step: bar.advance(task)
        )
        tasks: dict[str, object] = {}

        def report(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.advance(tasks[table], done)  # type: ignore[arg-type]

        executor = bulk.identity_executor(processes) if processes > 1 else None
        try:
            with session_scope() as session:
                loaded = load.load_city(
                    session=session,
                    city=city,
                    cipher=get_cipher(),
                    executor=executor,
                    progress=report,
                )
                seed_facilities(session=session, city_code=city.parameters.city_code)
        finally:
            if executor is not None:
                executor.shutdown()
    return loaded


@app.command("generate")
def generate(
    population: int = typer.Option(generator.DEFAULT_POPULATION, help="Residents to create."),
    seed: int = typer.Option(generator.DEFAULT_SEED, help="Same seed, same city."),
    processes: int = typer.Option(2, help="Worker processes that encrypt IDs and phones."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Generate a deterministic synthetic Zhuzhou and load it (the division tree must be loaded)."""
    try:
        loaded = build_city(
            population=population, seed=seed, processes=processes, show_progress=progress
        )
    except (FangkongError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for table, count in loaded.counts.items():
        typer.echo(f"{table:<14} {count:>10,}")
