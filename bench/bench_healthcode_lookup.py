"""Health codes: code lookup for display over HTTP, p50/p99 at a fixed request rate.

The server (``app.create_server``: the fast lane in front of the FastAPI app) is served by
uvicorn (one worker, uvloop + httptools) in its own process, on a fresh SQLite file with 2,000
residents and their stored codes; 50 resident accounts call ``GET /api/v1/healthcode/me`` (on
the fast lane: ``healthcode/fast_views.py``) with their bearer tokens. A second process drives
the load: an asyncio client with raw HTTP/1.1 keep-alive connections sends requests on a fixed
schedule (open loop: a request's latency counts from when it was due, so a server that falls
behind is charged for the wait, not hidden by it); it reports its own CPU, to show it is not
the limit.

Baselines, same server and data, mounted only in this benchmark's server:
``/bench/me-baseline``, the handler as it was before the lean path (load the person, then the
ORM code row, commit, validate), the baseline the lookup's figures were first given against;
and ``/bench/me-fastapi``, the FastAPI route ``views.my_code`` the lane replaces (token
resolved by ``web.deps.current_actor``, a primary-key read, pydantic).

Target (issue #5): p99 ≤ 10 ms at 2,000 requests/s.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.app import create_server
from fangkong.core import clock
from fangkong.healthcode import appeals, service, views
from fangkong.healthcode.schemas import CodeRead
from fangkong.healthcode.views import Resident
from fangkong.web.deps import SessionDep
from fangkong.web.fastlane import FastLane

RATE = 2_000
LOW_RATE = 500
SECONDS = 5.0
# Fewer connections than the database pool holds (5 + 10 overflow): the web layer's
# authentication dependency is async and reads the database on the event loop, so with more
# requests in flight than pooled connections it blocks the loop waiting for a connection that
# only the loop can free (until the pool's 30 s timeout).
CONNECTIONS = 12
PEOPLE = 2_000
ACCOUNTS = 50
NOW = datetime(2022, 11, 15, 4, tzinfo=UTC)
LEAN = "/api/v1/healthcode/me"
BASELINE = "/bench/me-baseline"
FASTAPI = "/bench/me-fastapi"
LABELS = {LEAN: "fast lane", FASTAPI: "FastAPI route", BASELINE: "baseline"}


def make_app() -> FastLane:
    """The platform's server plus the baseline routes (uvicorn ``--factory``), its start-up
    objects frozen out of the garbage collector as ``app.serve_server`` does."""
    server = create_server()
    app: FastAPI = server.app  # type: ignore[assignment]
    router = APIRouter()
    router.get(FASTAPI)(views.my_code)

    @router.get(BASELINE)
    def baseline(session: SessionDep, actor: Resident) -> CodeRead:
        person = appeals.own_person(session=session, actor=actor)
        code = service.current_code(session=session, person_id=person.id, now=clock.now())
        session.commit()
        return CodeRead.model_validate(code)

    app.include_router(router)
    gc.collect()
    gc.freeze()
    return server


def prepare(url: str) -> list[str]:
    """Residents with stored codes and resident accounts; returns the accounts' tokens."""
    from fangkong.accounts import service as accounts
    from fangkong.accounts.enums import Role
    from fangkong.db import migrate
    from fangkong.db.session import create_db_engine
    from fangkong.healthcode import jobs
    from fangkong.registry import service as registry_service
    from fangkong.registry.models import Person

    migrate.upgrade(url)
    with Session(create_db_engine(url), expire_on_commit=False) as session:
        registry_service.load_divisions(session=session)
        session.execute(
            insert(Person),
            [
                {
                    "area_path": "/43/4302/430203/",
                    "document_type": "resident_id",
                    "id_number_encrypted": "x",
                    "id_number_index": f"bench-{i}",
                    "id_number_masked": "m",
                    "name": "n",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "tags": 0,
                    "status": "active",
                }
                for i in range(PEOPLE)
            ],
        )
        session.commit()
        jobs.recompute_all(session=session, now=NOW)
        ids = list(session.scalars(select(Person.id).order_by(Person.id).limit(ACCOUNTS)))
        tokens = []
        for pid in ids:
            user = accounts.create_user(
                session=session,
                actor=None,
                username=f"resident-{pid}",
                password="bench-password-1",  # noqa: S106 (a throwaway database)
                role=Role.RESIDENT,
                display_name=f"resident {pid}",
                person_id=pid,
            )
            session.flush()
            tokens.append(
                accounts.issue_api_token(
                    session=session, actor=None, user=user, name="bench", expires_at=None
                )
            )
        session.commit()
    return tokens


async def _drive(port: int, path: str, tokens: list[str], rate: float, seconds: float) -> dict:
    """Open-loop load: request i is due at start + i/rate; returns latencies in ms."""
    total = int(rate * seconds)
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {tokens[i % len(tokens)]}"
            "\r\n\r\n"
        ).encode()
        for i in range(total)
    ]
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    # Times from ``perf_counter``: uvloop's ``loop.time()`` has millisecond resolution and is
    # cached per loop iteration, too coarse for millisecond latencies.
    clock = time.perf_counter
    start = clock() + 0.2
    # A server that cannot keep up is not waited for forever: requests still unsent by then
    # are counted as not served.
    deadline = start + seconds * 2 + 1

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in counter:
            if clock() > deadline:
                break
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            # A timer may fire a little early: the latency then counts from the send (a late
            # send still counts from when it was due).
            counted_from = min(due, clock())
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append((clock() - counted_from) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
        writer.close()

    cpu = time.process_time()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    elapsed = clock() - start
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": elapsed,
        "offered": total,
        "client_cpu": time.process_time() - cpu,
    }


def drive_main() -> None:
    """Client process: ``bench_healthcode_lookup.py --drive PORT PATH RATE SECONDS OUT`` with
    the tokens on stdin; writes JSON to the file OUT."""
    port, path, rate, seconds = int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
    tokens = json.loads(sys.stdin.read())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_drive(port, path, tokens, rate, float(seconds)))
    # A file, not stdout: a few hundred KB printed to the pipe came back cut at 64 or 128 KB
    # (exit status 0) once uvloop had run in the process.
    Path(sys.argv[6]).write_text(json.dumps(result))


def cpu_per_request(url: str, token: str, paths: tuple[str, ...]) -> dict[str, float]:
    """Milliseconds of this process's CPU per request for each path, calling the ASGI app
    directly (no network, no client): what one lookup costs the server, less sensitive to a
    busy machine than latency. The paths alternate in rounds of 200 calls and the median round
    counts, so a burst of load elsewhere does not land on one path only."""
    from fangkong.config import get_settings
    from fangkong.db.session import get_engine, get_sessionmaker

    os.environ["FANGKONG_DATABASE_URL"] = url
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()
    app = make_app()

    def scope(path: str) -> dict:
        return {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "server": ("bench", 80),
            "client": ("127.0.0.1", 1),
            "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        }

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    async def calls(path: str, n: int) -> float:
        cpu = time.process_time()
        for _ in range(n):
            await app(scope(path), receive, send)
        return (time.process_time() - cpu) / n * 1000

    async def rounds() -> dict[str, float]:
        for path in paths:
            await calls(path, 50)
        per_path: dict[str, list[float]] = {path: [] for path in paths}
        for _ in range(7):
            for path in paths:
                per_path[path].append(await calls(path, 200))
        return {path: statistics.median(ms) for path, ms in per_path.items()}

    return asyncio.run(rounds())


def server_cpu(pid: int) -> float:
    """Seconds of CPU the server process has used (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def run(port: int, path: str, tokens: list[str], rate: float, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "drive.json"
        subprocess.run(
            [sys.executable, __file__, "--drive", str(port), path, str(rate), str(seconds), out],
            input=json.dumps(tokens),
            text=True,
            check=True,
        )
        result = json.loads(out.read_text())
    lat = sorted(result["latencies"])
    return {
        "rate": len(lat) / result["elapsed"],
        "p50": statistics.median(lat),
        "p99": lat[int(len(lat) * 0.99) - 1],
        "errors": result["errors"],
        "count": len(lat),
        "unserved": result["offered"] - len(lat),
        "client_cpu": result["client_cpu"] / result["elapsed"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'lookup.db'}"
        started = time.perf_counter()
        tokens = prepare(url)
        print(f"prepared in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        port = _free_port()
        env = {**os.environ, "FANGKONG_DATABASE_URL": url}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "bench_healthcode_lookup:make_app",
                "--app-dir",
                str(Path(__file__).parent),
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        try:
            _wait_for(port)
            for path in LABELS:  # warm-up: connections, caches, compiled SQL
                run(port, path, tokens, 200, 1.0)
            figures = {}
            for rate in (LOW_RATE, RATE):
                for path in LABELS:
                    before = server_cpu(server.pid)
                    figures[(path, rate)] = run(port, path, tokens, rate, SECONDS)
                    used = server_cpu(server.pid) - before
                    figures[(path, rate)]["server_cpu_ms"] = (
                        used * 1000 / max(figures[(path, rate)]["count"], 1)
                    )
                    print(f"{LABELS[path]} at {rate}/s done", file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait(10)
        cpu = cpu_per_request(url, tokens[0], tuple(LABELS))
    for (path, rate), f in figures.items():
        print(
            f"code lookup over HTTP, {LABELS[path]} ({path if path != LEAN else LEAN}), "
            f"offered {rate:,}/s: achieved {f['rate']:,.0f}/s, p50 {f['p50']:.1f} ms, "
            f"p99 {f['p99']:.1f} ms, {f['errors']} errors of {f['count']:,}, "
            f"{f['unserved']:,} not served by the deadline; server CPU "
            f"{f['server_cpu_ms']:.3f} ms per answered request (HTTP included); load client "
            f"{f['client_cpu'] * 100:.0f}% of a core"
        )
    print(
        "server CPU per lookup (ASGI app called in-process, median of 7 rounds of 200): "
        + ", ".join(f"{LABELS[path]} {cpu[path]:.3f} ms" for path in LABELS)
        + f"; baseline/lane {cpu[BASELINE] / cpu[LEAN]:.1f}x, "
        f"FastAPI route/lane {cpu[FASTAPI] / cpu[LEAN]:.1f}x"
    )
    lane, base = figures[(LEAN, RATE)], figures[(BASELINE, RATE)]
    print(
        f"at {RATE:,}/s offered: fast lane p99 {lane['p99']:.1f} ms, achieved "
        f"{lane['rate']:,.0f}/s (target p99 ≤ 10 ms at 2,000/s: "
        f"{'met' if lane['p99'] <= 10 and lane['rate'] >= RATE * 0.98 else 'missed'}); "
        f"baseline p99 {base['p99']:.1f} ms at {base['rate']:,.0f}/s, "
        f"ratio {base['p99'] / lane['p99']:.1f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--drive":
        drive_main()
    else:
        main()
