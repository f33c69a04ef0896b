"""A drill on a 1,000,000-resident city for 60 simulated days (issue #10: ≤ 15 minutes).

The city is generated once into ``var/bench/drill-city-<N>.db`` (SQLite, timed separately and
kept for the next run); each run copies it and runs the drill under ``zhuzhou-2022-11``, seed 1,
with the stop at zero community infections turned off so that all the days are simulated.
Printed: the drill's wall-clock and CPU time, agent-days per second, the mean time per day,
and the ratio against the 15-minute target.

Baseline, same process, run first: the first ``BASELINE_DAYS`` days of the same drill on a fresh
copy of the city with the drill's own fast paths turned off (``fangkong.drill.speed.naive``:
every round's tubes opened, filled and sealed through the testing service one call at a time,
and the day's scans checked and stored by ``tracing.service.record_scans`` instead of one
``executemany``); the ratio is its time over those days against the fast drill's same days.

``FANGKONG_BENCH_POPULATION`` and ``FANGKONG_BENCH_DAYS`` change the size; ``FANGKONG_BENCH_
BASELINE_DAYS=0`` skips the baseline.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from pathlib import Path

from fangkong.drill import speed
from fangkong.drill.cli import prepare_database, run_in_database
from fangkong.drill.records import DayRecord

POPULATION = int(os.environ.get("FANGKONG_BENCH_POPULATION", "1000000"))
DAYS = int(os.environ.get("FANGKONG_BENCH_DAYS", "60"))
BASELINE_DAYS = int(os.environ.get("FANGKONG_BENCH_BASELINE_DAYS", "3"))
PACK = "zhuzhou-2022-11"
TARGET_SECONDS = 15 * 60
HERE = Path(__file__).resolve().parent
WORK = HERE.parent / "var" / "bench"


def city(population: int) -> Path:
    path = WORK / f"drill-city-{population}.db"
    if path.exists():
        print(f"city: {path} (generated earlier)", flush=True)
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    prepare_database(database_url=f"sqlite:///{path}", population=population)
    print(
        f"city: {population:,} residents generated and loaded in "
        f"{time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU",
        flush=True,
    )
    return path


def drill(template: Path, days: int, label: str) -> tuple[float, float, list[float], list[float]]:
    """Run the drill on a fresh copy of the city; wall, CPU, and each day's wall and CPU."""
    path = WORK / f"drill-run-{POPULATION}-{label}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    marks: list[float] = []
    cpu_marks: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()

    def on_day(record: DayRecord) -> None:
        marks.append(time.perf_counter())
        cpu_marks.append(time.process_time())
        print(f"  [{label}] {record.bulletin()} ({marks[-1] - wall:.0f} s)", flush=True)

    report = run_in_database(
        database_url=f"sqlite:///{path}",
        population=POPULATION,
        pack=PACK,
        seed=1,
        days=days,
        migrate_first=False,
        stop_at_zero=False,
        on_day=on_day,
    )
    elapsed, used = time.perf_counter() - wall, time.process_time() - cpu
    per_day = [b - a for a, b in zip([wall, *marks], marks, strict=False)]
    cpu_per_day = [b - a for a, b in zip([cpu, *cpu_marks], cpu_marks, strict=False)]
    print(
        f"[{label}] {report['days_run']} days: {report['infections_true']} infected, "
        f"{report['cases_detected']} detected, {report['samples']:,} samples in "
        f"{report['tubes']:,} tubes, {report['care']['discharged']} discharged",
        flush=True,
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return elapsed, used, per_day, cpu_per_day


def main() -> None:
    template = city(POPULATION)
    base: tuple[float, float, list[float], list[float]] | None = None
    if BASELINE_DAYS > 0:
        with speed.naive():
            base = drill(template, BASELINE_DAYS, "naive")
        print(
            f"baseline (naive paths), first {BASELINE_DAYS} days: {sum(base[2]):.1f} s wall, "
            f"{sum(base[3]):.1f} s CPU",
            flush=True,
        )
    wall, cpu, per_day, cpu_per_day = drill(template, DAYS, "fast")
    agent_days = POPULATION * len(per_day)
    print(
        f"drill: {POPULATION:,} residents x {len(per_day)} days in {wall:.1f} s wall "
        f"({wall / 60:.1f} min), {cpu:.1f} s CPU; {agent_days / wall / 1e6:.2f} M agent-days/s; "
        f"{wall / len(per_day):.1f} s per day; peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB",
        flush=True,
    )
    if POPULATION >= 1_000_000 and len(per_day) >= 60:
        print(
            f"target (1,000,000 x 60 days) <= {TARGET_SECONDS} s: "
            f"{'met' if wall <= TARGET_SECONDS else 'MISSED'} (wall / target = "
            f"{wall / TARGET_SECONDS:.2f}; CPU / target = {cpu / TARGET_SECONDS:.2f})",
            flush=True,
        )
    if base is not None:
        days = len(base[2])
        fast_wall, fast_cpu = sum(per_day[:days]), sum(cpu_per_day[:days])
        print(
            f"ratio: first {days} days naive {sum(base[2]):.1f} s wall / {sum(base[3]):.1f} s CPU, "
            f"fast {fast_wall:.1f} s wall / {fast_cpu:.1f} s CPU: "
            f"{sum(base[2]) / fast_wall:.2f}x wall, {sum(base[3]) / fast_cpu:.2f}x CPU",
            flush=True,
        )


if __name__ == "__main__":
    main()
