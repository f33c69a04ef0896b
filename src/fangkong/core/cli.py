"""``fangkong keys``: generate keys for a production deployment."""

from __future__ import annotations

import secrets

import typer

from fangkong.core.crypto import generate_key

app = typer.Typer(help="Keys and secrets for production settings.", no_args_is_help=True)


@app.command()
def generate(
    key_id: str = typer.Option("k1", help="Key id stored beside every value it protects."),
) -> None:
    """Print a fresh secret key and one encryption and one blind-index key entry."""
    typer.echo(f"FANGKONG_SECRET_KEY={secrets.token_urlsafe(48)}")
    typer.echo(f"FANGKONG_ENCRYPTION_KEYS={generate_key(key_id)}")
    typer.echo(f"FANGKONG_BLIND_INDEX_KEYS={generate_key(key_id)}")
