"""``fangkong areas``: the area tree and resident sheets."""

from __future__ import annotations

from pathlib import Path

import typer

from fangkong.accounts import service as accounts_service
from fangkong.core.errors import FangkongError
from fangkong.db.session import session_scope
from fangkong.registry import actions, service, spreadsheets

app = typer.Typer(help="Area tree (province → grid) and resident sheets.", no_args_is_help=True)


@app.command("load-divisions")
def load_divisions() -> None:
    """Load the official division table of Hunan (idempotent)."""
    with session_scope() as session:
        result = service.load_divisions(session=session)
    typer.echo(f"{result.inserted} areas added, {result.already_present} already present")


@app.command("import-residents")
def import_residents(
    community: str = typer.Argument(..., help="The community's 12-digit code."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".xlsx or .csv"),
    as_user: str = typer.Option(..., "--as", help="The user the import is made as (audited)."),
) -> None:
    """Import a resident sheet into a community, as a user who may; prints every rejected row."""
    try:
        with session_scope() as session:
            user = accounts_service.get_by_username(session=session, username=as_user)
            if user is None:
                raise typer.BadParameter(f"no user {as_user!r}", param_hint="--as")
            report = actions.import_residents(
                session=session,
                actor=accounts_service.actor_for(user),
                community_code=community,
                rows=spreadsheets.read_rows(file.read_bytes(), file.name),
            )
    except FangkongError as exc:
        typer.echo(f"refused: {exc.code} {exc.message}", err=True)
        raise typer.Exit(1) from exc
    for rejected in report.rejected:
        typer.echo(f"row {rejected.row}: {rejected.code} ({rejected.field}) {rejected.message}")
    typer.echo(
        f"{report.loaded} of {report.total_rows} rows loaded, {len(report.rejected)} rejected, "
        f"{report.households_created} households created"
    )
