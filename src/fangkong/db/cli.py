"""``fangkong db``: migrations."""

from __future__ import annotations

import typer

from fangkong.config import get_settings
from fangkong.db import migrate

app = typer.Typer(help="Database schema: upgrade, downgrade, check.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base."),
) -> None:
    """Undo migrations down to REVISION."""
    migrate.downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def check() -> None:
    """Fail if the models and the migrations disagree."""
    migrate.check(get_settings().database_url)
    typer.echo("models and migrations agree")
