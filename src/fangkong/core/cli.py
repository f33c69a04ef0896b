"""``fangkong keys`` (production secrets) and ``fangkong audit`` (the tamper-evident log)."""

from __future__ import annotations

import secrets

import typer

from fangkong.core import audit
from fangkong.core.crypto import generate_key
from fangkong.db.session import session_scope

keys_app = typer.Typer(help="Keys and secrets for production settings.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@keys_app.command()
def generate(
    key_id: str = typer.Option("k1", help="Key id stored beside every value it protects."),
) -> None:
    """Print a fresh secret key, and one entry for each key ring (encryption, blind index,
    health-code signing)."""
    typer.echo(f"FANGKONG_SECRET_KEY={secrets.token_urlsafe(48)}")
    typer.echo(f"FANGKONG_ENCRYPTION_KEYS={generate_key(key_id)}")
    typer.echo(f"FANGKONG_BLIND_INDEX_KEYS={generate_key(key_id)}")
    typer.echo(f"FANGKONG_CODE_SIGNING_KEY={generate_key(key_id)}")


@audit_app.command()
def verify() -> None:
    """Check the hash chain of the whole audit log; exit 1 at the first edited, deleted or
    reordered event."""
    with session_scope() as session:
        report = audit.verify_chain(session=session)
    if report.first_break is None:
        typer.echo(f"{report.events_checked} events checked: the chain is intact")
        return
    problem = report.first_break
    typer.echo(
        f"audit chain broken at event {problem.event_id} ({problem.problem}) "
        f"after {report.events_checked - 1} good events",
        err=True,
    )
    raise typer.Exit(code=1)
