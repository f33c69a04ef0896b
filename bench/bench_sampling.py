"""Sampling scans over HTTP against PostgreSQL: the scan intake, group commit vs commit per scan.

The server is the real application (``fangkong.app:serve_server``) under uvicorn, uvloop +
httptools, access log off, in its own process(es): one worker, then ``--workers N`` (each worker
process has its own event loop, intake writer and connection, and its own applier; they take
turns on PostgreSQL's lock), on a fresh PostgreSQL database holding enough residents
and open tubes for every scan to carry a distinct signed registration code. The load comes from
``wrk`` in another process (closed loop: ``--connections`` connections, each sending its next
scan as soon as the previous one was answered; wrk's percentiles are of those answers, so a
stall shows up as fewer requests, not as a longer tail: read the rate with the p99). Each scan
is ``POST /api/v1/sampling/intake``: code verified, row appended and committed before the 202.
The server's background applier runs meanwhile at low priority; its lag at the end of the load
and the time it then needs to drain are printed. The baseline is the same endpoint with
``FANGKONG_SAMPLING_GROUP_COMMIT=false``: every scan inserted and committed on its own.

Target (issue #4): >= 5,000 scans/s sustained for 60 s with p99 <= 100 ms.

    python bench/bench_sampling.py                                  # 60 s per run
    python bench/bench_sampling.py --workers 3                      # 1 worker, then 3
    FANGKONG_BENCH_SAMPLING_SECONDS=10 python bench/bench_sampling.py  # a quick run

``--workers`` (or ``FANGKONG_BENCH_SAMPLING_WORKERS``, default 2): the multi-worker run and the
baseline use that many workers; 1 runs the single-worker configuration only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from fangkong.testing.loadgen import build_site, start_server, wait_ready

ADMIN_URL = os.environ.get(
    "FANGKONG_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECONDS = float(os.environ.get("FANGKONG_BENCH_SAMPLING_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("FANGKONG_BENCH_SAMPLING_CONNECTIONS", "64"))
# "false": no applier during the load (the intake alone); the rows are then applied after it.
# "worker": the applier as a worker process of its own at the lowest priority (`nice -n 19
# fangkong testing apply-scans --follow`) during the load, as docs/testing.md advises at high
# rates: it takes what CPU the intake leaves and catches up after the burst.
APPLIER_MODE = os.environ.get("FANGKONG_BENCH_SAMPLING_APPLIER", "true")
APPLIER_IN_SERVER = APPLIER_MODE not in ("false", "worker")
WORKERS = int(os.environ.get("FANGKONG_BENCH_SAMPLING_WORKERS", "2"))
LUA = Path(__file__).with_name("scan_load.lua")
TARGET_RATE = 5000
TARGET_P99_MS = 100.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database() -> tuple[str, str]:
    name = f"scan_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ticks(pid: str) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    return _ticks(str(pid)) / os.sysconf("SC_CLK_TCK")


def _parents() -> dict[str, str]:
    parents: dict[str, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[entry.name] = fields[1]
    return parents


def tree_ticks(pid: int) -> dict[str, int]:
    """CPU ticks of ``pid`` and of every process under it (uvicorn's worker processes)."""
    parents = _parents()
    tree = {str(pid)}
    grew = True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    ticks: dict[str, int] = {}
    for member in tree:
        try:
            ticks[member] = _ticks(member)
        except OSError:
            continue
    return ticks


def tree_cpu_since(pid: int, before: dict[str, int]) -> float:
    now = tree_ticks(pid)
    return sum(t - before.get(p, 0) for p, t in now.items()) / os.sysconf("SC_CLK_TCK")


def postgres_ticks() -> dict[str, int]:
    """CPU ticks of every PostgreSQL process now (other jobs' queries included, if any)."""
    ticks: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                ticks[entry.name] = _ticks(entry.name)
        except OSError:
            continue
    return ticks


def postgres_cpu_since(before: dict[str, int]) -> float:
    """CPU used by PostgreSQL since ``before``: processes alive at both readings, plus the whole
    of those started since (those that ended meanwhile are missed)."""
    now = postgres_ticks()
    used = sum(ticks - before.get(pid, 0) for pid, ticks in now.items())
    return used / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    label: str
    requests: int
    non2xx: int
    socket_errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float
    postgres_cpu: float
    load_cpu: float  # wrk's
    stored: int
    pending_at_end: int
    drain_seconds: float

    @property
    def rate(self) -> float:
        return (self.requests - self.non2xx) / self.seconds


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit("wrk is not installed: run `make bench-deps` (installs the Debian package)")
    return found


def write_bodies(path: Path, barcodes: tuple[str, ...], codes: tuple[str, ...], size: int) -> None:
    with path.open("w") as out:
        for n in range(len(codes)):
            body = {
                "tube_barcode": barcodes[n // size],
                "code": codes[n],
                "client_scan_id": f"b{n}",
            }
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def count(url: str, sql: str) -> int:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def measure(label: str, *, group_commit: bool, seconds: float, scans: int, workers: int) -> Run:
    name, url = fresh_database()
    workdir = Path(tempfile.mkdtemp(prefix="scan-bench-"))
    try:
        pool = 10
        site = build_site(url, people=scans, tubes=scans // pool + 1, pool_size=pool)
        bodies = workdir / "bodies.jsonl"
        write_bodies(bodies, site.barcodes, site.codes, pool)
        port = free_port()
        server = start_server(
            url,
            port,
            group_commit=group_commit,
            workers=workers,
            log=str(workdir / "server.log"),
            applier_in_server=APPLIER_IN_SERVER,
        )
        try:
            wait_ready(port)
            if workers > 1:
                time.sleep(3)  # every worker process up, not only the first to answer
            env = {**os.environ, "SCAN_BODIES": str(bodies), "SCAN_TOKEN": site.token}
            env["SCAN_THREADS"] = "1"
            worker = (
                subprocess.Popen(
                    [
                        *("nice", "-n", "19", sys.executable, "-m", "fangkong", "testing"),
                        *("apply-scans", "--follow", "--batch", "1000", "--pause", "0.2"),
                    ],
                    env={**os.environ, "FANGKONG_DATABASE_URL": url},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                if APPLIER_MODE == "worker"
                else None
            )
            server_before, pg_before = tree_ticks(server.pid), postgres_ticks()
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            # wrk is a fixed Debian binary given fixed arguments.
            done = subprocess.run(
                [
                    require_wrk(),
                    "-t1",
                    f"-c{CONNECTIONS}",
                    f"-d{seconds:.0f}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(LUA),
                    f"http://127.0.0.1:{port}",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            load_cpu = (children.ru_utime - children_before.ru_utime) + (
                children.ru_stime - children_before.ru_stime
            )
            server_cpu = tree_cpu_since(server.pid, server_before)
            postgres_cpu = postgres_cpu_since(pg_before)
            pending = count(url, "SELECT count(*) FROM sampling_intake WHERE outcome IS NULL")
            drain_started = time.monotonic()
            if APPLIER_MODE == "false":
                # The applier as a worker of its own, once the load is over.
                subprocess.run(
                    [sys.executable, "-m", "fangkong", "testing", "apply-scans", "--batch", "1000"],
                    env={**os.environ, "FANGKONG_DATABASE_URL": url},
                    capture_output=True,
                    check=True,
                )
            while count(url, "SELECT count(*) FROM sampling_intake WHERE outcome IS NULL"):
                time.sleep(0.5)
            drain = time.monotonic() - drain_started
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=60)
            stored = count(url, "SELECT count(*) FROM sampling_intake")
        finally:
            server.terminate()
            server.wait(timeout=60)
        match = re.search(r"^WRK (.*)$", done.stdout, re.MULTILINE)
        if match is None:
            sys.exit(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
        figures = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
        return Run(
            label=label,
            requests=figures["requests"],
            non2xx=figures["non2xx"],
            socket_errors=sum(figures[k] for k in ("connect", "read", "write", "timeout")),
            seconds=figures["duration_us"] / 1e6,
            p50_ms=figures["p50_us"] / 1000,
            p90_ms=figures["p90_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
            max_ms=figures["max_us"] / 1000,
            server_cpu=server_cpu,
            postgres_cpu=postgres_cpu,
            load_cpu=load_cpu,
            stored=stored,
            pending_at_end=pending,
            drain_seconds=drain,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop_database(name)


def show(run: Run) -> None:
    acked = max(run.requests - run.non2xx, 1)
    print(
        f"{run.label:<20} {run.requests - run.non2xx:>8} acknowledged in {run.seconds:4.1f} s ="
        f" {run.rate:7.0f} scans/s  p50 {run.p50_ms:6.1f} ms  p90 {run.p90_ms:6.1f} ms"
        f"  p99 {run.p99_ms:6.1f} ms  max {run.max_ms:6.0f} ms  refused {run.non2xx}"
        f"  socket errors {run.socket_errors}\n{'':<20} server CPU"
        f" {run.server_cpu / acked * 1e3:.3f} ms a scan"
        f" ({run.server_cpu / run.seconds:.2f} cores), PostgreSQL CPU"
        f" {run.postgres_cpu / acked * 1e3:.3f} ms a scan, wrk CPU"
        f" {run.load_cpu / acked * 1e3:.3f} ms a scan; intake rows {run.stored};"
        f" applier: {run.pending_at_end} waiting at the end, drained in {run.drain_seconds:.0f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=WORKERS, help="uvicorn worker processes")
    workers = max(parser.parse_args().workers, 1)
    require_wrk()
    print(f"load average before: {os.getloadavg()}")
    scans = int(SECONDS * 8000) + 1000  # every request a distinct code, at up to 8,000/s
    print(
        f"{os.cpu_count()} cores; server: uvicorn (uvloop, httptools, no access log), PostgreSQL;"
        f" load: wrk, 1 thread, {CONNECTIONS} connections, {SECONDS:.0f} s per run;"
        f" {scans} distinct codes",
        flush=True,
    )
    runs = [measure("group commit x1", group_commit=True, seconds=SECONDS, scans=scans, workers=1)]
    show(runs[0])
    if workers > 1:
        runs.append(
            measure(
                f"group commit x{workers}",
                group_commit=True,
                seconds=SECONDS,
                scans=scans,
                workers=workers,
            )
        )
        show(runs[-1])
    best = max(runs, key=lambda run: run.rate)
    print(f"best configuration: {best.label}", flush=True)
    single = measure(
        f"per request x{workers}",
        group_commit=False,
        seconds=SECONDS,
        scans=scans,
        workers=workers,
    )
    show(single)
    print(
        f"ratio ({best.label} / {single.label}): {best.rate / max(single.rate, 1e-9):.2f}x"
        f" throughput; p99 {best.p99_ms / max(single.p99_ms, 1e-9):.2f}x",
    )
    if best is not runs[-1]:  # like for like: the same number of workers
        print(
            f"ratio ({runs[-1].label} / {single.label}):"
            f" {runs[-1].rate / max(single.rate, 1e-9):.2f}x throughput;"
            f" p99 {runs[-1].p99_ms / max(single.p99_ms, 1e-9):.2f}x",
        )
    met = best.rate >= TARGET_RATE and best.p99_ms <= TARGET_P99_MS
    print(f"target >= {TARGET_RATE} scans/s with p99 <= {TARGET_P99_MS:.0f} ms:", end=" ")
    print("met" if met else "NOT met")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
