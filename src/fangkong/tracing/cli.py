"""``fangkong tracing``: bulk import of scan logs and passenger manifests, retention of scans,
and the case intake."""

from __future__ import annotations

from pathlib import Path

import typer

from fangkong.core.errors import FangkongError
from fangkong.db.session import session_scope
from fangkong.tracing import jobs, journeys, service

app = typer.Typer(help="Place scans and contact tracing.", no_args_is_help=True)


@app.command("import-scans")
def import_scans(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .parquet"),
) -> None:
    """Load a scan log; good rows are stored and every bad row is listed with its code."""
    try:
        with session_scope() as session:
            result = service.import_scans(session=session, path=path, actor=None)
    except FangkongError as exc:
        typer.echo(f"error [{exc.code}] {exc.message}", err=True)
        raise typer.Exit(code=2) from exc
    for problem in result.rejected:
        typer.echo(f"row {problem.index}: [{problem.code}] {problem.field}: {problem.message}")
    typer.echo(f"{result.stored} scans stored, {len(result.rejected)} rejected")


@app.command("import-manifest")
def import_manifest(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv"),
) -> None:
    """Load a carrier's passenger manifest; good rows are stored, rows already on record
    counted, and every bad row listed with the field at fault."""
    try:
        with session_scope() as session:
            result = journeys.import_manifest(session=session, path=path, actor=None)
    except FangkongError as exc:
        typer.echo(f"error [{exc.code}] {exc.message}", err=True)
        raise typer.Exit(code=2) from exc
    for problem in result.rejected:
        typer.echo(f"row {problem.index}: {problem.field}: {problem.message}")
    typer.echo(
        f"{result.stored} journeys stored, {result.already} already on record, "
        f"{len(result.rejected)} rejected"
    )


@app.command("purge-scans")
def purge_scans(
    days: int = typer.Option(..., help="Retention in days (from the rule pack in force)."),
    batch_size: int = typer.Option(10_000, help="Rows deleted per transaction."),
) -> None:
    """Delete scans older than the retention period, in batches."""
    try:
        with session_scope() as session:
            deleted = service.purge_expired_scans(
                session=session, retention_days=days, batch_size=batch_size
            )
    except FangkongError as exc:
        typer.echo(f"error [{exc.code}] {exc.message}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"{deleted} scans deleted")


@app.command("open-cases")
def open_cases() -> None:
    """Open a case and its investigation for every single-person positive result without one
    (the scheduler runs this every few minutes; a second run opens nothing)."""
    try:
        with session_scope() as session:
            cases = jobs.run_case_intake(session=session)
            opened = [(case.id, case.person_id) for case in cases]
    except FangkongError as exc:
        typer.echo(f"error [{exc.code}] {exc.message}", err=True)
        raise typer.Exit(code=2) from exc
    for case_id, person_id in opened:
        typer.echo(f"case {case_id} opened for person {person_id}")
    typer.echo(f"{len(opened)} cases opened")
