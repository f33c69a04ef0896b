"""The scan intake with several server processes and its writer's batching: a resend that
reaches another process is stored once, and scans that arrive while a batch commits go in the
next batch together."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from fangkong.db.session import create_db_engine
from fangkong.testing.intake import IntakeRow, IntakeWriter
from fangkong.testing.loadgen import LoadSite, build_site, start_server, wait_ready
from tests.apart import run_apart

INTAKE = "/api/v1/sampling/intake"
SCANS = 12


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, site: LoadSite, number: int) -> dict[str, object]:
    response = httpx.post(
        f"http://127.0.0.1:{port}{INTAKE}",
        json={
            "tube_barcode": site.barcodes[number],
            "code": site.codes[number],
            "client_scan_id": f"twice-{number}",
        },
        headers={"Authorization": f"Bearer {site.token}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_scan_sent_to_two_server_processes_at_once_is_stored_once(
    backend: str, fresh_database_url: object, tmp_path: object
) -> None:
    url: str = fresh_database_url(backend)  # type: ignore[operator]
    site = build_site(url, people=SCANS, tubes=SCANS, pool_size=1)
    ports = [free_port(), free_port()]
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for number, port in enumerate(ports):
            servers.append(
                start_server(
                    url, port, log=f"{tmp_path}/server-{number}.log", applier_in_server=False
                )
            )
        for port in ports:
            wait_ready(port)
        # Each scan goes to both processes at the same moment, as a phone that resends after
        # a timeout may reach another worker behind the load balancer.
        with ThreadPoolExecutor(max_workers=2 * SCANS) as pool:
            answers = [
                (pool.submit(_post, ports[0], site, n), pool.submit(_post, ports[1], site, n))
                for n in range(SCANS)
            ]
            pairs = [(first.result(), second.result()) for first, second in answers]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)

    engine = create_db_engine(url)
    with engine.connect() as conn:
        stored = dict(
            conn.execute(text("SELECT client_scan_id, id FROM sampling_intake")).tuples().all()
        )
    engine.dispose()
    assert len(stored) == SCANS
    for number, (first, second) in enumerate(pairs):
        assert first["intake_id"] == second["intake_id"] == stored[f"twice-{number}"]
        assert sorted([first["replayed"], second["replayed"]]) == [False, True]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_scans_arriving_while_a_batch_commits_are_committed_together_next(
    backend: str, fresh_database_url: object
) -> None:
    url: str = fresh_database_url(backend)  # type: ignore[operator]
    build_site(url, people=1, tubes=1, pool_size=1)
    engine = create_db_engine(url)
    with engine.connect() as conn:
        user_id = conn.scalar(text("SELECT id FROM user_account WHERE username = 'load-sampler'"))
    engine.dispose()
    assert isinstance(user_id, int)
    now = datetime.now(UTC)

    def row(client_scan_id: str) -> IntakeRow:
        return IntakeRow(
            user_id=user_id,
            client_scan_id=client_scan_id,
            tube_barcode="LD0000000000",
            method="code",
            person_ids=(1, 2),
            id_lookup_keys=(),
            scanned_at=None,
            received_at=now,
        )

    writer = IntakeWriter(url)

    async def send() -> list[tuple[int, bool]]:
        # 40 scans at once, the 10 last ones resends of the 10 first: the first scan goes to
        # the thread alone, the 39 others gather meanwhile and go in one batch.
        ids = [f"c{n}" for n in range(30)] + [f"c{n}" for n in range(10)]
        stored = await asyncio.gather(*(writer.append(row(cid)) for cid in ids))
        await writer.drain()
        return [(item.intake_id, item.replayed) for item in stored]

    try:
        answers = run_apart(send())
    finally:
        writer.close()

    assert writer.batches == 2
    assert writer.rows == 40
    assert [replayed for _, replayed in answers] == [False] * 30 + [True] * 10
    assert len({intake_id for intake_id, _ in answers[:30]}) == 30
    assert [intake_id for intake_id, _ in answers[30:]] == [i for i, _ in answers[:10]]
