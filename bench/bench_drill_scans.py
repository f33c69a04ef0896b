"""The drill's place-code scans on SQLite at 1,000,000 residents, day after day into one table.

A 1,000,000-resident drill stores about 425,000 scans a day (0.5 venue visits per person a day,
85% scanned) and in a profile of the 1,000,000 x 60-day drill this insert was half the time of a
quiet day. Measured, in the same process, day after day into two fresh ``place_scan`` tables
(with the table's three indexes, as migrated):

- **fast**: ``fangkong.drill.platform.sampling.record_scans`` (rows in (person, time) order,
  a 512 MiB page cache for the connection);
- **baseline**: the same ``executemany`` with the rows in the order the visits come (by venue
  and hour from the model) and SQLite's default 2 MiB cache, as the drill did before.

``FANGKONG_BENCH_SCAN_DAYS`` (default 10) and ``FANGKONG_BENCH_SCANS_PER_DAY`` (425000) change
the size.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from fangkong.core.clock import ManualClock, use_clock
from fangkong.drill.platform.sampling import record_scans
from fangkong.registry import bulk as registry_bulk
from fangkong.tracing.enums import ScanSource
from fangkong.tracing.models import PlaceScan

DAYS = int(os.environ.get("FANGKONG_BENCH_SCAN_DAYS", "10"))
PER_DAY = int(os.environ.get("FANGKONG_BENCH_SCANS_PER_DAY", "425000"))
PEOPLE = 1_000_000
VENUES = PEOPLE // 150
START = datetime(2022, 11, 8, 16, tzinfo=UTC)


def day_scans(day: int, rng: np.random.Generator) -> list[tuple[int, int, datetime]]:
    """A day's scans as the twin makes them: grouped by venue and hour, people at random."""
    venue = np.sort(rng.integers(1, VENUES + 1, PER_DAY))
    person = rng.integers(1, PEOPLE + 1, PER_DAY)
    minute = rng.integers(8 * 60, 22 * 60, PER_DAY)
    moments = [START + timedelta(days=day, minutes=m) for m in range(24 * 60)]
    return [
        (p, v, moments[m])
        for p, v, m in zip(person.tolist(), venue.tolist(), minute.tolist(), strict=True)
    ]


def baseline(session: Session, scans: list[tuple[int, int, datetime]]) -> None:
    now = START
    received = registry_bulk.timestamp(session=session, moment=now)
    stamp = {
        at: registry_bulk.timestamp(session=session, moment=at) for at in {s[2] for s in scans}
    }
    values = [(p, v, stamp[at], ScanSource.APP.value, received, None) for p, v, at in scans]
    raw: Any = session.connection().connection.dbapi_connection
    cursor = raw.cursor()
    cursor.executemany(
        "INSERT INTO place_scan (person_id, venue_id, scanned_at, source, received_at, "
        "recorded_by_user_id) VALUES (?, ?, ?, ?, ?, ?)",
        values,
    )
    cursor.close()


def table(folder: Path, name: str) -> Session:
    engine = create_engine(f"sqlite:///{folder / name}")
    with engine.begin() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))
    PlaceScan.__table__.create(bind=engine)  # type: ignore[attr-defined]
    return Session(engine)


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent.parent / "var") as tmp:
        fast, slow = table(Path(tmp), "fast.db"), table(Path(tmp), "baseline.db")
        totals = {"fast": 0.0, "baseline": 0.0}
        walls = {"fast": 0.0, "baseline": 0.0}
        for day in range(DAYS):
            scans = day_scans(day, np.random.default_rng(day))
            with use_clock(ManualClock(START + timedelta(days=day, hours=22))):
                for label, session in (("baseline", slow), ("fast", fast)):
                    started, wall = time.process_time(), time.perf_counter()
                    if label == "fast":
                        record_scans(session=session, scans=scans)
                    else:
                        baseline(session, scans)
                    session.commit()
                    totals[label] += time.process_time() - started
                    walls[label] += time.perf_counter() - wall
            print(
                f"day {day}: {len(scans) * (day + 1):,} scans stored; cumulative baseline "
                f"{totals['baseline']:.1f} s CPU ({walls['baseline']:.1f} s wall), fast "
                f"{totals['fast']:.1f} s CPU ({walls['fast']:.1f} s wall)",
                flush=True,
            )
        print(
            f"{DAYS} days x {PER_DAY:,} scans: fast {totals['fast']:.1f} s CPU "
            f"({PER_DAY * DAYS / totals['fast']:,.0f} scans/s), "
            f"baseline {totals['baseline']:.1f} s "
            f"({PER_DAY * DAYS / totals['baseline']:,.0f} scans/s): "
            f"{totals['baseline'] / totals['fast']:.2f}x CPU; wall {walls['fast']:.1f} s against "
            f"{walls['baseline']:.1f} s: {walls['baseline'] / walls['fast']:.2f}x",
            flush=True,
        )
        fast.close()
        slow.close()


if __name__ == "__main__":
    main()
