"""``fangkong risk-areas``: the daily evaluation of risk areas."""

from __future__ import annotations

import typer

from fangkong.areas import jobs
from fangkong.db.session import session_scope

app = typer.Typer(help="Risk areas (风险区): daily evaluation.", no_args_is_help=True)


@app.command("evaluate")
def evaluate() -> None:
    """Judge every confirmed risk area under its own rule pack and apply what the rules say
    (idempotent: a second run the same day changes nothing)."""
    with session_scope() as session:
        report = jobs.run_daily_evaluation(session=session)
    typer.echo(
        f"{report.evaluated} evaluated, {len(report.changed)} changed, "
        f"{len(report.lifted)} lifted, {len(report.pending)} awaiting confirmation, "
        f"{len(report.skipped)} skipped"
    )
