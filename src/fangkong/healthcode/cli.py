"""``fangkong healthcode``: recompute stored codes."""

from __future__ import annotations

import typer

from fangkong.core import clock
from fangkong.db.session import session_scope
from fangkong.healthcode import jobs

app = typer.Typer(help="Health codes (健康码): recompute.", no_args_is_help=True)


@app.command("recompute")
def recompute(
    due_only: bool = typer.Option(
        False, "--due", help="Only the codes whose validity has run out (a lapsed window)."
    ),
) -> None:
    """Recompute every person's code from the facts (nightly, or after a pack change); with
    --due only the codes that fell due. Writes only what changed."""
    with session_scope() as session:
        now = clock.now()
        report = (
            jobs.recompute_due(session=session, now=now)
            if due_only
            else jobs.recompute_all(session=session, now=now)
        )
    typer.echo(
        f"{report.evaluated} evaluated, {report.changed} changed, "
        f"{report.refreshed} refreshed, {len(report.conflicted)} left for the next run"
    )
