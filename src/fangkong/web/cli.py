"""``fangkong serve``."""

from __future__ import annotations

import typer
import uvicorn


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    """Serve the web interface and the API."""
    uvicorn.run("fangkong.app:serve_server", factory=True, host=host, port=port, workers=workers)
