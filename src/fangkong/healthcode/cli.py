"""``fangkong healthcode``: recompute stored codes."""

from __future__ import annotations

from datetime import timedelta

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
    changed_minutes: int | None = typer.Option(
        None,
        "--changed-within",
        min=1,
        help="Only people whose facts changed in the last N minutes (results, cases, "
        "contacts, isolation orders, risk areas).",
    ),
) -> None:
    """Recompute every person's code from the facts (nightly, or after a pack change); with
    --due only the codes that fell due; with --changed-within only people whose facts moved.
    Writes only what changed."""
    with session_scope() as session:
        now = clock.now()
        if changed_minutes is not None:
            since = now - timedelta(minutes=changed_minutes)
            report = jobs.recompute_changed(session=session, since=since, now=now)
        elif due_only:
            report = jobs.recompute_due(session=session, now=now)
        else:
            report = jobs.recompute_all(session=session, now=now)
    typer.echo(
        f"{report.evaluated} evaluated, {report.changed} changed, "
        f"{report.refreshed} refreshed, {len(report.conflicted)} left for the next run"
    )
