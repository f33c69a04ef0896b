"""``fangkong users``: manage accounts from the machine's console."""

from __future__ import annotations

import typer

from fangkong.accounts import service
from fangkong.accounts.enums import Role
from fangkong.core.errors import FangkongError
from fangkong.db.session import session_scope

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command()
def create(
    username: str = typer.Option(..., help="Login name (lower case)."),
    role: Role = typer.Option(..., help="The user's role."),
    area: str | None = typer.Option(None, help="Area code of the jurisdiction, e.g. 430203."),
    display_name: str | None = typer.Option(None, help="Name shown in the interface."),
    person_id: int | None = typer.Option(None, help="Residents: the person this account is."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters."
    ),
) -> None:
    """Create a user with a role and a jurisdiction."""
    try:
        with session_scope() as session:
            user = service.create_user(
                session=session,
                actor=None,
                username=username,
                password=password,
                role=role,
                display_name=display_name or username,
                area_code=area,
                person_id=person_id,
            )
            typer.echo(f"created user {user.username} (id {user.id}, role {user.role})")
    except FangkongError as exc:
        typer.echo(f"error [{exc.code}] {exc.message}", err=True)
        raise typer.Exit(code=2) from exc
