"""Health codes: batched recompute vs a per-person write loop, and engine throughput.

1. ``recompute_for`` (design: one insert-if-absent statement and one flush per chunk of 500)
   against the obvious loop (one insert and one flush per person), both writing the same code
   rows, change rows and audit events for first codes on a fresh SQLite file.
2. ``evaluate`` under the Zhuzhou pack (17 rules) against the same people under a pack holding
   only its default rule, to show the cost of the rules themselves.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.healthcode import events, service
from fangkong.healthcode.enums import ContactKind, RiskLevel, SampleResult
from fangkong.healthcode.facts import (
    AreaFacts,
    PersonFacts,
    RiskVisit,
    Sample,
    SkippedRound,
    TestingFacts,
    TracingFacts,
)
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.rules import evaluate
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.packs import catalog
from fangkong.registry.models import Person

NOW = datetime(2022, 11, 15, 12, tzinfo=timezone(timedelta(hours=8)))
PEOPLE = 3_000
EVALUATIONS = 30_000


def contacts(
    *, session: Session, person_ids: Sequence[int], now: datetime
) -> Mapping[int, TracingFacts]:
    return {pid: TracingFacts(contact=ContactKind.CLOSE) for pid in person_ids if pid % 10 == 0}


def fresh_people(folder: Path, name: str) -> tuple[Session, list[int]]:
    url = f"sqlite:///{folder / name}"
    migrate.upgrade(url)
    session = Session(create_db_engine(url))
    session.execute(
        insert(Person),
        [
            {
                "area_path": "/43/",
                "document_type": "resident_id",
                "id_number_encrypted": "x",
                "id_number_index": f"bench-{i}",
                "id_number_masked": "m",
                "name": "n",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(PEOPLE)
        ],
    )
    session.commit()
    return session, list(range(1, PEOPLE + 1))


def per_person_loop(session: Session, ids: list[int], pack: HealthCodeSection) -> None:
    """The baseline: evaluate, add the row and its records, flush, next person."""
    facts = service.gather_facts(session=session, person_ids=ids, now=NOW, providers=[contacts])
    for pid in ids:
        decision = evaluate(facts=facts[pid], now=NOW, pack=pack)
        session.add(
            HealthCode(
                person_id=pid,
                colour=decision.colour,
                rule_id=decision.rule_id,
                pack_id=decision.pack_id,
                pack_version=decision.pack_version,
                reasons=list(decision.reasons),
                decided_at=NOW,
                valid_until=decision.valid_until,
                revision=1,
            )
        )
        events.code_changed(
            session=session, person_id=pid, old_colour=None, old_rule_ref=None, decision=decision
        )
        session.flush()
    session.commit()


def random_people(count: int) -> list[PersonFacts]:
    rng = random.Random(7)
    people = []
    for _ in range(count):
        samples = tuple(
            Sample(NOW - timedelta(hours=rng.uniform(0, 240)), SampleResult.NEGATIVE)
            for _ in range(rng.randint(0, 4))
        )
        rounds = tuple(
            SkippedRound("r", NOW - timedelta(days=rng.uniform(0, 6)))
            for _ in range(rng.random() < 0.05)
        )
        visits = tuple(
            RiskVisit(RiskLevel.MEDIUM, NOW - timedelta(days=rng.uniform(0, 10)))
            for _ in range(rng.random() < 0.03)
        )
        contact = ContactKind.CLOSE if rng.random() < 0.01 else ContactKind.NONE
        people.append(
            PersonFacts(
                testing=TestingFacts(samples=samples, skipped_rounds=rounds),
                tracing=TracingFacts(contact=contact),
                areas=AreaFacts(visits=visits),
            )
        )
    return people


def main() -> None:
    zhuzhou = catalog().get("zhuzhou-2022-11", 1).section(HEALTHCODE_SECTION)
    with tempfile.TemporaryDirectory() as folder:
        session, ids = fresh_people(Path(folder), "loop.db")
        started = time.perf_counter()
        per_person_loop(session, ids, zhuzhou)
        loop = time.perf_counter() - started
        session.close()
        session, ids = fresh_people(Path(folder), "batched.db")
        started = time.perf_counter()
        service.recompute_for(
            session=session, person_ids=ids, now=NOW, pack=zhuzhou, providers=[contacts]
        )
        session.commit()
        batched = time.perf_counter() - started
        session.close()
    print(
        f"first codes for {PEOPLE} people, SQLite: recompute_for {PEOPLE / batched:,.0f}/s, "
        f"per-person loop {PEOPLE / loop:,.0f}/s, ratio {loop / batched:.1f}x faster"
    )

    people = random_people(EVALUATIONS)
    default_only = HealthCodeSection(
        pack_id=zhuzhou.pack_id,
        pack_version=zhuzhou.pack_version,
        states=zhuzhou.states,
        clear_state=zhuzhou.clear_state,
        rules=tuple(rule for rule in zhuzhou.rules if not rule.when),
    )
    timings = {}
    for label, pack in (("zhuzhou", zhuzhou), ("default rule only", default_only)):
        started = time.perf_counter()
        for facts in people:
            evaluate(facts=facts, now=NOW, pack=pack)
        timings[label] = time.perf_counter() - started
    print(
        f"evaluate, {EVALUATIONS} people: Zhuzhou pack ({len(zhuzhou.rules)} rules) "
        f"{EVALUATIONS / timings['zhuzhou']:,.0f}/s, default rule only "
        f"{EVALUATIONS / timings['default rule only']:,.0f}/s, "
        f"ratio {timings['zhuzhou'] / timings['default rule only']:.1f}x the cost"
    )


if __name__ == "__main__":
    main()
