"""Sampling scans over HTTP against PostgreSQL: group commit vs one commit per scan.

The server is the real application under uvicorn in its own process; the load comes from this
process (httpx/asyncio, ``--concurrency`` samplers, each scanning ``pool_size`` people into a tube
one request at a time). Each run gets a fresh database. Target (issue #4): >= 5,000 scans/s
sustained for 60 s with p99 <= 100 ms. The baseline is the same endpoint with
``FANGKONG_SAMPLING_GROUP_COMMIT=false`` (one transaction and one commit per scan).

    python bench/bench_sampling.py                 # 10 s per mode
    python bench/bench_sampling.py --seconds 60    # the full target
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import uuid
from pathlib import Path

import psycopg

from fangkong.testing.loadgen import LoadReport, build_site, run_load, start_server, wait_ready

ADMIN_URL = os.environ.get(
    "FANGKONG_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database() -> tuple[str, str]:
    name = f"fangkong_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (Linux /proc)."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for process in pids:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(
    *, group_commit: bool, seconds: float, concurrency: int, workers: int
) -> tuple[LoadReport, float]:
    name, url = fresh_database()
    try:
        # Enough tubes that no sampler runs dry at 8,000 scans/s.
        site = build_site(url, people=20_000, tubes=int(seconds * 800) + concurrency, pool_size=10)
        port = free_port()
        server = start_server(url, port, group_commit=group_commit, workers=workers)
        try:
            wait_ready(port)
            _, next_tube = asyncio.run(
                run_load(port, site, concurrency=concurrency, seconds=2, label="warm")
            )
            # Each sampler starts a fresh tube: half-filled warm-up tubes are left alone.
            cpu_before = cpu_seconds(server.pid)
            report, _ = asyncio.run(
                run_load(
                    port,
                    site,
                    concurrency=concurrency,
                    seconds=seconds,
                    label="run",
                    first_tube=next_tube + concurrency,
                )
            )
            server_cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        return report, server_cpu
    finally:
        drop_database(name)


def show(label: str, report: LoadReport, server_cpu: float) -> None:
    per_scan = server_cpu / max(len(report.latencies), 1)
    print(
        f"{label:<22} {len(report.latencies):>8} scans in {report.finished - report.started:5.1f} s"
        f" = {report.rate:8.0f} scans/s   p50 {report.percentile(0.5) * 1000:7.1f} ms"
        f"   p99 {report.percentile(0.99) * 1000:7.1f} ms   refused {report.refused}"
        f"   no answer {report.failed}\n{'':<22} server CPU {per_scan * 1000:.2f} ms a scan"
        f" (= {1 / max(per_scan, 1e-9):,.0f} scans/s per fully available core)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(
        f"{os.cpu_count()} cores; server: uvicorn x{args.workers}, PostgreSQL; load: 1 process, "
        f"{args.concurrency} concurrent samplers, {args.seconds:.0f} s per mode",
        flush=True,
    )
    grouped, grouped_cpu = measure(
        group_commit=True,
        seconds=args.seconds,
        concurrency=args.concurrency,
        workers=args.workers,
    )
    show("group commit", grouped, grouped_cpu)
    single, single_cpu = measure(
        group_commit=False,
        seconds=args.seconds,
        concurrency=args.concurrency,
        workers=args.workers,
    )
    show("commit per request", single, single_cpu)
    print(
        f"ratio (group commit / commit per request): {grouped.rate / max(single.rate, 1e-9):.2f}x"
        f" throughput; p99 {grouped.percentile(0.99) / single.percentile(0.99):.2f}x",
    )
    met = grouped.rate >= 5000 and grouped.percentile(0.99) <= 0.100
    print(f"target >= 5000 scans/s with p99 <= 100 ms: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
