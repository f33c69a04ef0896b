"""A synthetic sampling site and a scan load generator (the durability test and the benchmark).

``build_site`` fills an empty database with one grid, its residents, a sampler with an API
token, an open round and its tubes, and returns pre-signed registration codes.
``start_server`` runs the real application under uvicorn in its own process.
``run_load`` plays samplers: each concurrent connection takes the next tube and scans
``pool_size`` people into it, one request at a time, the way a sampling desk works.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.config import Settings
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.registry import service as registry_service
from fangkong.registry.models import Area, Person
from fangkong.testing.codes import issue_person_code
from fangkong.testing.enums import CampaignStatus, TubeStatus
from fangkong.testing.models import TestCampaign, Tube
from fangkong.testing.sampling import registration_keys

STREET = "430203003"  # 建宁街道, Zhuzhou
GRID = "430203003901"


@dataclass(frozen=True)
class LoadSite:
    token: str
    campaign_id: int
    barcodes: tuple[str, ...]
    codes: tuple[str, ...]
    pool_size: int


def build_site(
    url: str, *, people: int, tubes: int, pool_size: int = 10, migrate_first: bool = True
) -> LoadSite:
    """Migrate ``url`` and load a site with ``people`` residents and ``tubes`` open tubes."""
    if migrate_first:
        migrate.upgrade(url)
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    keys = registration_keys(Settings().code_signing_key)
    with Session(engine) as session:
        if registry_service.get_by_code(session=session, code=STREET) is None:
            registry_service.load_divisions(session=session)
        street = registry_service.get_by_code_or_raise(session=session, code=STREET)
        grid = Area(
            code=GRID,
            name="负载网格",
            level="grid",
            parent_id=street.id,
            path=f"{street.path}{GRID}/",
        )
        session.add(grid)
        session.flush()
        user = accounts_service.create_user(
            session=session,
            actor=None,
            username="load-sampler",
            password=secrets.token_urlsafe(18),
            role=Role.SAMPLER,
            display_name="load sampler",
            area_code=STREET,
        )
        token = accounts_service.issue_api_token(
            session=session, actor=None, user=user, name="load", expires_at=None
        )
        session.execute(
            insert(Person),
            [
                {
                    "area_path": grid.path,
                    "name": f"居民{n}",
                    "status": "active",
                    "tags": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(people)
            ],
        )
        person_ids = list(
            session.scalars(
                select(Person.id).where(Person.area_path == grid.path).order_by(Person.id)
            )
        )
        campaign = TestCampaign(
            name="负载轮次",
            area_id=grid.id,
            area_path=grid.path,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
            status=CampaignStatus.OPEN.value,
            max_pool_size=pool_size,
            rule_ref="cn-9/4.2",
            created_at=now,
        )
        session.add(campaign)
        session.flush()
        barcodes = tuple(f"LD{n:010d}" for n in range(tubes))
        for start in range(0, tubes, 5000):
            session.execute(
                insert(Tube),
                [
                    {
                        "barcode": barcode,
                        "campaign_id": campaign.id,
                        "area_path": grid.path,
                        "pool_size": pool_size,
                        "member_count": 0,
                        "status": TubeStatus.OPEN.value,
                        "opened_by_user_id": user.id,
                        "opened_at": now,
                    }
                    for barcode in barcodes[start : start + 5000]
                ],
            )
        campaign_id = campaign.id
        session.commit()
    engine.dispose()
    issued = now - timedelta(minutes=10)
    codes = tuple(
        issue_person_code(
            private_key=keys.signing_key,
            key_id=keys.signing_key_id,
            person_id=person_id,
            issued_at=issued,
        )
        for person_id in person_ids
    )
    return LoadSite(
        token=token, campaign_id=campaign_id, barcodes=barcodes, codes=codes, pool_size=pool_size
    )


def start_server(
    url: str,
    port: int,
    *,
    group_commit: bool = True,
    workers: int = 1,
    log: str | None = None,
    applier_in_server: bool = True,
) -> subprocess.Popen[bytes]:
    """The real application under uvicorn (uvloop, httptools), in a process of its own."""
    env = {
        **os.environ,
        "FANGKONG_DATABASE_URL": url,
        "FANGKONG_SAMPLING_GROUP_COMMIT": "true" if group_commit else "false",
        "FANGKONG_SAMPLING_APPLIER_IN_SERVER": "true" if applier_in_server else "false",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "fangkong.app:serve_server",  # what `fangkong serve` runs
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    # The command is this interpreter and fixed arguments: nothing comes from outside.
    return subprocess.Popen(command, env=env, stdout=output, stderr=output)  # noqa: S603


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the server on port {port} did not start")


@dataclass
class LoadReport:
    """What the samplers saw: every acknowledged scan and the latency of each answer."""

    acknowledged: dict[str, int] = field(default_factory=dict)  # client_scan_id → scan_id
    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged scans
    refused: dict[str, int] = field(default_factory=dict)  # error code → count
    failed: int = 0  # no answer (connection refused or reset)
    started: float = 0.0
    finished: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / max(self.finished - self.started, 1e-9)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _sampler(
    client: httpx.AsyncClient,
    site: LoadSite,
    report: LoadReport,
    next_tube: list[int],
    stop_at: float,
    label: str,
    on_ack: Callable[[LoadReport], None] | None,
    give_up_after: int | None,
    path: str,
) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    while time.monotonic() < stop_at:
        if give_up_after is not None and report.failed >= give_up_after:
            return
        tube_index = next_tube[0]
        if tube_index >= len(site.barcodes):
            return
        next_tube[0] += 1
        barcode = site.barcodes[tube_index]
        for slot in range(site.pool_size):
            if time.monotonic() >= stop_at:
                return
            person = (tube_index * site.pool_size + slot) % len(site.codes)
            client_id = f"{label}-{tube_index}-{slot}"
            body = {
                "tube_barcode": barcode,
                "code": site.codes[person],
                "client_scan_id": client_id,
            }
            sent = time.perf_counter()
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.HTTPError:
                report.failed += 1
                if give_up_after is not None and report.failed >= give_up_after:
                    return
                await asyncio.sleep(0.05)
                continue
            if response.status_code in (200, 202):  # stored (the intake answers 202)
                report.latencies.append(time.perf_counter() - sent)
                answer = response.json()
                report.acknowledged[client_id] = answer.get("scan_id") or answer["intake_id"]
                if on_ack is not None:
                    on_ack(report)
            else:
                code = response.json().get("code", str(response.status_code))
                report.refused[code] = report.refused.get(code, 0) + 1


async def run_load(
    port: int,
    site: LoadSite,
    *,
    concurrency: int,
    seconds: float,
    label: str = "s",
    first_tube: int = 0,
    on_ack: Callable[[LoadReport], None] | None = None,
    give_up_after: int | None = None,
    path: str = "/api/v1/sampling/scans",
) -> tuple[LoadReport, int]:
    """``concurrency`` samplers scanning for ``seconds`` (or until ``give_up_after`` requests
    went unanswered); returns the report and the next unused tube."""
    report = LoadReport()
    next_tube = [first_tube]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30.0
    ) as client:
        report.started = time.monotonic()
        stop_at = report.started + seconds
        await asyncio.gather(
            *(
                _sampler(
                    client, site, report, next_tube, stop_at, label, on_ack, give_up_after, path
                )
                for _ in range(concurrency)
            )
        )
        report.finished = time.monotonic()
    return report, next_tube[0]


def scan_ids_stored(url: str, client_ids: Sequence[str]) -> set[str]:
    """The client scan ids (of those given) that the database holds."""
    from fangkong.testing.models import SamplingScan

    engine = create_db_engine(url)
    found: set[str] = set()
    with Session(engine) as session:
        ordered = list(client_ids)
        for start in range(0, len(ordered), 1000):
            found.update(
                cid
                for cid in session.scalars(
                    select(SamplingScan.client_scan_id).where(
                        SamplingScan.client_scan_id.in_(ordered[start : start + 1000])
                    )
                )
                if cid
            )
    engine.dispose()
    return found
