"""Killing the server with SIGKILL under load loses no acknowledged scan (PostgreSQL)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from fangkong.db.session import create_db_engine
from fangkong.testing.loadgen import (
    LoadReport,
    build_site,
    run_load,
    scan_ids_stored,
    start_server,
    wait_ready,
)

KILL_AFTER = 200  # acknowledged scans before the kill


T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_acknowledged_scan_survives_a_sigkill_of_the_server(
    fresh_database_url: object, tmp_path: object
) -> None:
    url: str = fresh_database_url("postgresql")  # type: ignore[operator]
    site = build_site(url, people=2_000, tubes=600, pool_size=10)
    port = free_port()
    server = start_server(url, port, log=f"{tmp_path}/server-1.log")
    restarted: subprocess.Popen[bytes] | None = None
    try:
        wait_ready(port)
        killed_at: list[int] = []

        def kill_mid_load(report: LoadReport) -> None:
            if not killed_at and len(report.acknowledged) >= KILL_AFTER:
                killed_at.append(len(report.acknowledged))
                server.send_signal(signal.SIGKILL)

        # 24 samplers in this process, the server in its own; the load stops once 100 requests
        # have gone unanswered after the kill.
        report, next_tube = _run_apart(
            run_load(
                port,
                site,
                concurrency=24,
                seconds=120,
                label="before",
                on_ack=kill_mid_load,
                give_up_after=100,
            )
        )
        server.wait(timeout=30)

        assert server.returncode == -signal.SIGKILL
        assert killed_at and report.failed >= 100
        acknowledged = report.acknowledged
        # Requests in flight at the kill may have been answered by the dying server too.
        assert len(acknowledged) >= KILL_AFTER

        restarted = start_server(url, port, log=f"{tmp_path}/server-2.log")
        wait_ready(port)

        assert scan_ids_stored(url, list(acknowledged)) == set(acknowledged)
        engine = create_db_engine(url)
        with Session(engine) as session:
            stored_ids = set(
                session.scalars(
                    text("SELECT id FROM sampling_scan WHERE client_scan_id LIKE 'before-%'")
                )
            )
            # Every tube's count agrees with its members: no half-stored batch.
            mismatched = session.scalar(
                text(
                    "SELECT count(*) FROM tube WHERE member_count <> "
                    "(SELECT count(*) FROM tube_member WHERE tube_member.tube_id = tube.id)"
                )
            )
        engine.dispose()
        assert set(acknowledged.values()) <= stored_ids
        assert mismatched == 0

        after, _ = _run_apart(
            run_load(port, site, concurrency=4, seconds=2, label="after", first_tube=next_tube)
        )
        assert len(after.acknowledged) > 0 and after.failed == 0
    finally:
        for process in (server, restarted):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def _run_apart(load: Coroutine[Any, Any, T]) -> T:
    """Run the load generator's event loop in its own thread: a browser test sharing this
    worker keeps Playwright's loop running in the main thread, where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, load).result()
