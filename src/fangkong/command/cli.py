"""``fangkong command``: the daily bulletin and the dashboard's snapshots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from fangkong.command import jobs
from fangkong.config import get_settings
from fangkong.db.session import session_scope

app = typer.Typer(help="Command centre (指挥部): daily figures and bulletin.", no_args_is_help=True)


@app.command("bulletin")
def bulletin(
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD; default: yesterday (local)")
    ] = None,
    english: Annotated[bool, typer.Option("--english", help="print the English text")] = False,
) -> None:
    """Compute the day's figures for the city and every district, and write (or rewrite) the
    bulletin into the archive; prints the bulletin."""
    if day is None:
        local_today = datetime.now(ZoneInfo(get_settings().timezone)).date()
        chosen = date.fromordinal(local_today.toordinal() - 1)
    else:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            typer.echo(f"not a date (YYYY-MM-DD): {day}", err=True)
            raise typer.Exit(2) from None
    with session_scope() as session:
        bulletins = jobs.run_daily_bulletin(session=session, day=chosen)
        if not bulletins:
            typer.echo("no city area in the registry: nothing to report", err=True)
            raise typer.Exit(1)
        for item in bulletins:
            typer.echo(item.text_en if english else item.text_zh)


@app.command("refresh")
def refresh() -> None:
    """Recount the dashboard's population-wide panels (round coverage, health codes,
    vaccination) of the city and every district; run it from cron every few minutes."""
    with session_scope() as session:
        rows = jobs.refresh_snapshots(session=session)
        typer.echo(f"{len(rows)} areas refreshed")
