"""``fangkong testing``: pool plans, dry runs of lab result files, and the rebuild of the
per-person test summaries."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from fangkong.db.session import get_sessionmaker, session_scope
from fangkong.testing import actions, applier, summary
from fangkong.testing.enums import ResultFormat
from fangkong.testing.pooling import plan_pools

app = typer.Typer(help="Mass testing: pool planning, lab result files.", no_args_is_help=True)


@app.command("plan")
def plan(
    prevalence: list[float] = typer.Option(..., help="Prevalence as a fraction, e.g. 0.01"),
    cap: int = typer.Option(10, help="Policy cap on people per tube (from the rule pack)"),
    ct_budget: float | None = typer.Option(None, help="Dilution budget in Ct cycles"),
) -> None:
    """Dorfman pool size and expected tests per person for each prevalence."""
    plans = plan_pools(
        areas=[f"{p:g}" for p in prevalence],
        prevalences=prevalence,
        max_pool_size=cap,
        max_ct_shift=ct_budget,
    )
    typer.echo("prevalence  pool  tests/person  unconstrained(k, T)  floor H(p)")
    for item in plans:
        typer.echo(
            f"{item.prevalence:>10.4%}  {item.pool_size:>4}  {item.tests_per_person:>12.4f}  "
            f"{item.unconstrained_pool_size:>6}, {item.unconstrained_tests_per_person:.4f}"
            f"        {item.information_floor:.4f}"
        )


@app.command("check-file")
def check_file(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    result_format: ResultFormat = typer.Option(..., "--format", help="hl7v2, fhir or csv"),
) -> None:
    """Parse a lab result file without storing it and list every refusal (exit 1 if any)."""
    report = actions.parse_file(result_format=result_format, content=path.read_bytes())
    typer.echo(f"{len(report.accepted)} accepted, {len(report.rejected)} refused")
    for rejection in report.rejected:
        tube = f" tube {rejection.tube_barcode}" if rejection.tube_barcode else ""
        typer.echo(f"  {rejection.index}: {rejection.code}{tube}: {rejection.message}")
    if report.rejected:
        raise typer.Exit(code=1)


@app.command("apply-scans")
def apply_scans(
    follow: bool = typer.Option(False, help="Keep applying new scans as they arrive"),
    batch: int = typer.Option(applier.DEFAULT_BATCH, min=1, help="Scans a transaction"),
    pause: float = typer.Option(0.5, min=0.0, help="Seconds to wait when nothing is waiting"),
) -> None:
    """Apply the sampling scans waiting in the intake (each exactly once), then stop, or with
    --follow keep going (a worker process beside the web servers)."""
    factory = get_sessionmaker()
    applied = rejected = 0
    while True:
        report = applier.apply_pending(session_factory=factory, limit=batch)
        applied += report.applied
        rejected += report.rejected
        if report.rows:
            typer.echo(
                f"applied {report.applied}, rejected {report.rejected} (to #{report.last_id})"
            )
            continue
        if not follow:
            break
        time.sleep(pause)
    typer.echo(f"done: {applied} applied, {rejected} rejected")


@app.command("rebuild-summary")
def rebuild_summary() -> None:
    """Recompute every person's test summary from the samples and results (after loading them
    in bulk outside the platform's actions)."""
    with session_scope() as session:
        people = summary.rebuild(session=session)
    typer.echo(f"{people} people's test summaries rebuilt")


@app.command("fold-summaries")
def fold_summaries() -> None:
    """Move the test summaries forward for the result runs queued since the last fold (the
    nightly recompute does this first; run it earlier to spread the work)."""
    with session_scope() as session:
        runs = summary.fold_backlog(session=session)
    typer.echo(f"{runs} result runs folded into the test summaries")
