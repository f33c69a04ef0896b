"""``fangkong risk-areas``: the daily evaluation of risk areas."""

from __future__ import annotations

import typer

from fangkong.areas import jobs
from fangkong.core import clock
from fangkong.db.session import session_scope
from fangkong.healthcode import jobs as healthcode_jobs

app = typer.Typer(help="Risk areas (风险区): daily evaluation.", no_args_is_help=True)


@app.command("evaluate")
def evaluate() -> None:
    """Judge every confirmed risk area under its own rule pack and apply what the rules say
    (idempotent: a second run the same day changes nothing)."""
    started = clock.now()
    with session_scope() as session:
        report = jobs.run_daily_evaluation(session=session)
    # Residents of the areas that changed level or were lifted get their codes now, not at the
    # nightly recompute.
    with session_scope() as session:
        codes = healthcode_jobs.recompute_changed(session=session, since=started, now=clock.now())
    typer.echo(
        f"{report.evaluated} evaluated, {len(report.changed)} changed, "
        f"{len(report.lifted)} lifted, {len(report.pending)} awaiting confirmation, "
        f"{len(report.skipped)} skipped; {codes.changed} health codes changed"
    )
