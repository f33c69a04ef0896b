"""``fangkong logistics``: the state of supply requests and delivery tasks."""

from __future__ import annotations

import typer

from fangkong.db.session import session_scope
from fangkong.logistics import service

app = typer.Typer(help="Supplies and volunteer tasks.", no_args_is_help=True)


@app.command("summary")
def summary() -> None:
    """Requests by kind and status, and tasks by status, across the whole database."""
    with session_scope() as session:
        counts = service.counts(session=session)
    for (table, kind, status), number in sorted(counts.items()):
        typer.echo(f"{table}\t{kind}\t{status}\t{number}")
