"""The app served in a thread of the test process, for browser tests that build their own data.

Each request gets a session that is rolled back at its end, so a page can never leave a half
transaction behind; the pages commit what they change.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_server
from fangkong.config import Settings
from fangkong.web.deps import get_session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(url: str, factory: sessionmaker[Session]) -> Iterator[str]:
    """Serve the app on ``url``'s database until the block ends; yields the base address."""

    def request_session() -> Iterator[Session]:
        session = factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    # What uvicorn serves in production: the fast lane (the scan intake) in front of FastAPI.
    app = create_server(Settings(database_url=url))
    app.app.dependency_overrides[get_session] = request_session
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
