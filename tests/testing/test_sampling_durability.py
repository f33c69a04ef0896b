"""Killing the server with SIGKILL under load loses no acknowledged scan (PostgreSQL), on the
synchronous endpoint and on the fast lane's intake."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

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
from tests.apart import run_apart

KILL_AFTER = 200  # acknowledged scans before the kill
INTAKE = "/api/v1/sampling/intake"


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
        report, next_tube = run_apart(
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

        after, _ = run_apart(
            run_load(port, site, concurrency=4, seconds=2, label="after", first_tube=next_tube)
        )
        assert len(after.acknowledged) > 0 and after.failed == 0
    finally:
        for process in (server, restarted):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def test_every_acknowledged_intake_scan_survives_a_sigkill_and_is_applied_once(
    fresh_database_url: object, tmp_path: object
) -> None:
    """The fast lane: the server is killed mid-load while its background applier is running;
    after a restart and an applier pass, every acknowledged scan is in the intake with an
    outcome (applied, or rejected with a reason), none is applied twice, and every tube's count
    agrees with its members."""
    url: str = fresh_database_url("postgresql")  # type: ignore[operator]
    site = build_site(url, people=3_000, tubes=600, pool_size=10)
    port = free_port()
    server = start_server(url, port, log=f"{tmp_path}/intake-1.log")
    restarted: subprocess.Popen[bytes] | None = None
    try:
        wait_ready(port)
        killed_at: list[int] = []

        def kill_mid_load(report: LoadReport) -> None:
            if not killed_at and len(report.acknowledged) >= KILL_AFTER * 5:
                killed_at.append(len(report.acknowledged))
                server.send_signal(signal.SIGKILL)

        report, next_tube = run_apart(
            run_load(
                port,
                site,
                concurrency=24,
                seconds=120,
                label="lane",
                on_ack=kill_mid_load,
                give_up_after=100,
                path=INTAKE,
            )
        )
        server.wait(timeout=30)
        assert server.returncode == -signal.SIGKILL
        assert killed_at and report.failed >= 100
        acknowledged = report.acknowledged  # client scan id → intake id
        assert len(acknowledged) >= KILL_AFTER * 5

        restarted = start_server(url, port, log=f"{tmp_path}/intake-2.log")
        wait_ready(port)
        applied = subprocess.run(
            [sys.executable, "-m", "fangkong", "testing", "apply-scans"],
            env={**os.environ, "FANGKONG_DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=True,
        )
        assert applied.stdout.strip().splitlines()[-1].startswith("done:")

        engine = create_db_engine(url)
        with Session(engine) as session:
            rows = {
                cid: (row_id, outcome, error_code)
                for row_id, cid, outcome, error_code in session.execute(
                    text(
                        "SELECT id, client_scan_id, outcome, error_code FROM sampling_intake "
                        "WHERE client_scan_id LIKE 'lane-%'"
                    )
                )
            }
            scan_rows = session.scalar(
                text("SELECT count(*) FROM sampling_scan WHERE client_scan_id LIKE 'intake-%'")
            )
            applied_rows = session.scalar(
                text("SELECT count(*) FROM sampling_intake WHERE outcome = 'applied'")
            )
            doubled = session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT person_id, tube_id FROM tube_member "
                    "GROUP BY person_id, tube_id HAVING count(*) > 1) AS twice"
                )
            )
            mismatched = session.scalar(
                text(
                    "SELECT count(*) FROM tube WHERE member_count <> "
                    "(SELECT count(*) FROM tube_member WHERE tube_member.tube_id = tube.id)"
                )
            )
        engine.dispose()
        # Every acknowledged scan is stored, under the id it was acknowledged with …
        assert {cid: rows[cid][0] for cid in acknowledged if cid in rows} == acknowledged
        # … and has an outcome: applied, or rejected with its reason.
        assert all(rows[cid][1] in ("applied", "rejected") for cid in acknowledged)
        assert all(rows[cid][2] for cid in acknowledged if rows[cid][1] == "rejected")
        # Applied exactly once: one scan row per applied intake row, nobody twice in a tube.
        assert scan_rows == applied_rows
        assert doubled == 0 and mismatched == 0

        after, _ = run_apart(
            run_load(
                port,
                site,
                concurrency=4,
                seconds=2,
                label="again",
                first_tube=next_tube,
                path=INTAKE,
            )
        )
        assert len(after.acknowledged) > 0 and after.failed == 0
    finally:
        for process in (server, restarted):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
