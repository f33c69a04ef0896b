"""``fangkong areas``: the area tree."""

from __future__ import annotations

import typer

from fangkong.db.session import session_scope
from fangkong.registry import service

app = typer.Typer(help="Area tree (province → grid).", no_args_is_help=True)


@app.command("load-divisions")
def load_divisions() -> None:
    """Load the official division table of Hunan (idempotent)."""
    with session_scope() as session:
        result = service.load_divisions(session=session)
    typer.echo(f"{result.inserted} areas added, {result.already_present} already present")
