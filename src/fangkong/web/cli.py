"""``fangkong serve``."""

from __future__ import annotations

import typer
import uvicorn

from fangkong.config import get_settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int | None = typer.Option(
        None, min=1, help="Worker processes (default: FANGKONG_SERVER_WORKERS, else 1)."
    ),
    access_log: bool | None = typer.Option(
        None,
        "--access-log/--no-access-log",
        help="A log line per request (default: FANGKONG_ACCESS_LOG, else on).",
    ),
) -> None:
    """Serve the web interface and the API."""
    settings = get_settings()
    uvicorn.run(
        "fangkong.app:serve_server",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers is not None else settings.server_workers,
        access_log=access_log if access_log is not None else settings.access_log,
    )
