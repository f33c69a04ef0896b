"""Health codes, event-driven: a lab's results for 10,000 people arrive; recompute just them.

The facts come from the platform's own tables through the real providers (testing, isolation,
areas), and every change writes its code row, change row and audit event, as in production.
On a fresh SQLite file: 10,000 residents of one township, all sampled in round 1, none in round
2 (closed an hour ago), so everyone's first code is yellow (skipped round, Zhuzhou pack).

1. **all change**: round-2 results arrive for all 10,000 → ``recompute_affected`` on them;
   every code turns green (10,000 changes, 10,000 audit events).
2. **none change**: another batch of negatives for the same people → ``recompute_affected``;
   nobody's code moves (the common case: results for people already green).
``recompute_affected`` reads and decides a batch this size as columns (``healthcode.subset``).
Baseline, same process and data shape on a second database: the per-person engine over the
providers' facts (``recompute_for``, the path ``recompute_affected`` took before, and still
takes for small batches) on the same 10,000 people, all changing, with the same writers.

Target (issue #5): 10,000 affected persons ≤ 1 s including writes.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.healthcode import jobs, service
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.packs import catalog
from fangkong.registry import service as registry_service
from fangkong.registry.models import Area, Person
from fangkong.testing.models import ResultUpload, TestCampaign, Tube, TubeMember, TubeResult

NOW = datetime(2022, 11, 15, 4, tzinfo=UTC)
PEOPLE = 10_000
POOL = 10
TOWNSHIP = "430203003"


class World:
    def __init__(self, folder: Path, name: str, people: int) -> None:
        url = f"sqlite:///{folder / name}"
        migrate.upgrade(url)
        self.session = Session(create_db_engine(url), expire_on_commit=False)
        registry_service.load_divisions(session=self.session)
        self.area = self.session.scalars(select(Area).where(Area.code == TOWNSHIP)).one()
        self.session.execute(
            insert(Person),
            [
                {
                    "area_path": self.area.path,
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
                for i in range(people)
            ],
        )
        self.ids = list(self.session.scalars(select(Person.id).order_by(Person.id)))
        self.serial = 0
        self.upload = ResultUpload(
            content_sha256="0" * 64,
            format="csv",
            filename="bench.csv",
            uploaded_at=NOW,
            accepted_count=0,
            stored_count=0,
            duplicate_count=0,
            unmatched_count=0,
            rejected_count=0,
            rejections=[],
        )
        self.session.add(self.upload)
        self.session.flush()
        first = self.campaign(NOW - timedelta(days=3), NOW - timedelta(days=2))
        self.second = self.campaign(NOW - timedelta(days=1), NOW - timedelta(hours=1))
        self.results(first, NOW - timedelta(days=3))
        self.session.commit()

    def campaign(self, starts: datetime, ends: datetime) -> int:
        row = TestCampaign(
            name=f"round {starts:%d}",
            area_id=self.area.id,
            area_path=self.area.path,
            starts_at=starts,
            ends_at=ends,
            status="closed",
            max_pool_size=POOL,
            created_at=starts,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def results(self, campaign_id: int | None, sampled_at: datetime) -> None:
        """Pooled tubes of ten for everyone, each with a negative result."""
        tubes, members, results = [], [], []
        first_tube = (self.session.scalar(select(Tube.id).order_by(Tube.id.desc())) or 0) + 1
        for index, start in enumerate(range(0, len(self.ids), POOL)):
            self.serial += 1
            tube_id = first_tube + index
            barcode = f"B{self.serial:09d}"
            people = self.ids[start : start + POOL]
            tubes.append(
                {
                    "id": tube_id,
                    "barcode": barcode,
                    "campaign_id": campaign_id,
                    "area_path": self.area.path,
                    "pool_size": POOL,
                    "member_count": len(people),
                    "status": "sealed",
                    "opened_at": sampled_at,
                    "sealed_at": sampled_at,
                }
            )
            members += [
                {"tube_id": tube_id, "person_id": pid, "sampled_at": sampled_at} for pid in people
            ]
            results.append(
                {
                    "idempotency_key": f"lab|{barcode}",
                    "upload_id": self.upload.id,
                    "tube_id": tube_id,
                    "tube_barcode": barcode,
                    "lab_id": "lab",
                    "message_id": barcode,
                    "result": "not_detected",
                    "loinc_code": "94500-6",
                    "ct_values": {},
                    "collected_at": sampled_at,
                    "received_at": None,
                    "reported_at": sampled_at + timedelta(hours=6),
                    "stored_at": sampled_at + timedelta(hours=6),
                }
            )
        self.session.execute(insert(Tube), tubes)
        self.session.execute(insert(TubeMember), members)
        self.session.execute(insert(TubeResult), results)


def timed_recompute(
    world: World, now: datetime, pack: HealthCodeSection, *, baseline: bool = False
) -> tuple[float, float, service.RecomputeResult]:
    """Wall seconds, this process's CPU seconds (less sensitive to a shared machine; the
    database is in-process, so its work counts too) and the result."""
    recompute = service.recompute_for if baseline else service.recompute_affected
    started, cpu = time.perf_counter(), time.process_time()
    result = recompute(session=world.session, person_ids=world.ids, now=now, pack=pack)
    world.session.commit()
    return time.perf_counter() - started, time.process_time() - cpu, result


def main() -> None:
    pack = catalog().get("zhuzhou-2022-11", 1).section(HEALTHCODE_SECTION)
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder), "events.db", PEOPLE)
        first = jobs.recompute_all(session=world.session, now=NOW, pack=pack)
        assert first.changed == PEOPLE, first
        world.results(world.second, NOW - timedelta(minutes=30))
        world.session.commit()
        all_change, all_cpu, changed = timed_recompute(world, NOW, pack)
        assert len(changed.changed) == PEOPLE, changed
        world.results(None, NOW + timedelta(minutes=10))
        world.session.commit()
        none_change, none_cpu, second = timed_recompute(world, NOW + timedelta(minutes=20), pack)
        world.session.close()

        base = World(Path(folder), "providers.db", PEOPLE)
        jobs.recompute_all(session=base.session, now=NOW, pack=pack)
        base.results(base.second, NOW - timedelta(minutes=30))
        base.session.commit()
        loop, loop_cpu, baseline = timed_recompute(base, NOW, pack, baseline=True)
        assert baseline.changed == changed.changed, baseline
        base.session.close()

    print(
        f"event-driven recompute, {PEOPLE:,} affected, all change: {all_change:.2f} s "
        f"(CPU {all_cpu:.2f} s) "
        f"({PEOPLE / all_change:,.0f}/s, target ≤ 1 s: {'met' if all_change <= 1 else 'missed'})"
    )
    print(
        f"event-driven recompute, {PEOPLE:,} affected, {len(second.changed)} change "
        f"({len(second.refreshed)} refreshed, {second.unchanged} untouched): {none_change:.2f} s "
        f"(CPU {none_cpu:.2f} s) "
        f"({PEOPLE / none_change:,.0f}/s, target ≤ 1 s: {'met' if none_change <= 1 else 'missed'})"
    )
    print(
        f"baseline, per-person engine over the providers' facts ({PEOPLE:,} people, all "
        f"change): {loop:.2f} s (CPU {loop_cpu:.2f} s); columns are {loop / all_change:.1f}x "
        f"faster (by CPU time: {loop_cpu / all_cpu:.1f}x)"
    )


if __name__ == "__main__":
    main()
