"""The full recompute over columns decides exactly what the per-person engine decides.

A synthetic city (sim generator, 2,000 residents) with tracing's case and contacts, and facts
seeded for every branch of the rules: rounds attended, skipped, skipped then tested; pooled
positives awaiting their recheck and rechecked; pending results; no test ever; only an old
negative; key workers fresh and stale; companions current, lapsed, cleared and not; isolation
orders; risk designations of an area, a compound, a building and a unit.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.audit import AuditEvent
from fangkong.core.crypto import get_cipher
from fangkong.healthcode import columns, jobs, service, vector
from fangkong.healthcode.models import HealthCode
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Area, Building, Household, Person
from fangkong.sim.city.generator import generate
from fangkong.sim.city.load import load_city
from fangkong.testing import summary
from fangkong.testing.models import TestCampaign
from fangkong.tracing.models import CompanionFlag, Contact
from tests.healthcode import world
from tests.healthcode.builders import section
from tests.personas import Personas
from tests.tracing.test_contact_finding import confirmed
from tests.tracing.world import NOW as TRACED

NOW = TRACED + timedelta(hours=6)
PACKS = ("cn-9", "cn-10", "cn-20", "zhuzhou-2022-11", "us-cdc")
Stored = tuple[str, str, tuple[str, ...], datetime | None]


def _campaign(
    session: Session, area: Area, starts_at: datetime, ends_at: datetime, *, closed: bool = True
) -> int:
    row = TestCampaign(
        name=f"round {starts_at:%d %H}",
        area_id=area.id,
        area_path=area.path,
        starts_at=starts_at,
        ends_at=ends_at,
        status="closed" if closed else "open",
        max_pool_size=10,
        rule_ref=None,
        created_at=starts_at,
    )
    session.add(row)
    session.flush()
    return row.id


def _pools(
    session: Session,
    people: Sequence[Person],
    *,
    sampled_at: datetime,
    result: str | None,
    campaign_id: int | None,
) -> None:
    for start in range(0, len(people), 10):
        world.tube(
            session,
            list(people[start : start + 10]),
            sampled_at=sampled_at,
            result=result,
            reported_at=sampled_at + timedelta(hours=8),
            campaign_id=campaign_id,
        )


def _single(session: Session, person: Person, at: datetime, result: str | None) -> None:
    world.tube(session, [person], sampled_at=at, result=result, reported_at=at + timedelta(hours=6))


def seed(session: Session, personas: Personas) -> list[int]:
    """The city and its facts; returns every person id."""
    city = generate(population=2_000, seed=11)
    load_city(session=session, city=city, cipher=get_cipher())
    session.flush()
    confirmed(session, personas)  # tracing's case and its close and secondary contacts
    people = list(session.scalars(select(Person).order_by(Person.id)))
    area = session.scalars(select(Area).where(Area.code == city.parameters.city_code)).one()
    rng = random.Random(2022)
    first = _campaign(session, area, NOW - timedelta(days=5), NOW - timedelta(days=4))
    second = _campaign(session, area, NOW - timedelta(days=2), NOW - timedelta(days=1))
    _campaign(session, area, NOW - timedelta(hours=3), NOW + timedelta(hours=3), closed=False)
    _campaign(session, area, NOW - timedelta(days=25), NOW - timedelta(days=24))
    shuffled = people[:]
    rng.shuffle(shuffled)
    n = len(shuffled)
    cut = [int(n * f) for f in (0.6, 0.7, 0.75, 0.8, 0.83, 0.86, 0.88, 0.9, 0.92)]
    bounds = [0, *cut, n]
    groups = [shuffled[a:b] for a, b in itertools.pairwise(bounds)]
    both, only_first, tested_late, never, old_only, pool_wait, pool_checked, pending = groups[:8]
    positive, rest = groups[8:]
    _pools(
        session,
        both + only_first + tested_late,
        sampled_at=NOW - timedelta(days=4, hours=12),
        result="not_detected",
        campaign_id=first,
    )
    _pools(
        session,
        both,
        sampled_at=NOW - timedelta(days=1, hours=12),
        result="not_detected",
        campaign_id=second,
    )
    for person in tested_late:
        _single(session, person, NOW - timedelta(hours=12), None)
    for person in old_only:
        _single(session, person, NOW - timedelta(days=20), "not_detected")
    _pools(
        session,
        pool_wait + pool_checked,
        sampled_at=NOW - timedelta(days=1, hours=12),
        result="detected",
        campaign_id=second,
    )
    for person in pool_checked:
        _single(session, person, NOW - timedelta(hours=20), "not_detected")
    _pools(
        session,
        pending,
        sampled_at=NOW - timedelta(days=1, hours=12),
        result=None,
        campaign_id=second,
    )
    for person in positive:
        _single(session, person, NOW - timedelta(days=1), "detected")
    for person in rest[:10]:
        _single(session, person, NOW + timedelta(hours=2), "not_detected")  # after ``now``
    # Key workers: fresh, stale and never-tested negatives.
    for person in both[:15] + old_only[:15] + never[:15]:
        person.tags = int(PersonTag.KEY_WORKER)
    session.flush()
    _tracing(session, both[15:40], rng)
    for person, kind in zip(
        only_first[:9], ["centralised", "home_isolation", "home_monitoring"] * 3, strict=True
    ):
        world.order(session, person, kind=kind, since=NOW - timedelta(days=2), status="active")
    world.order(session, only_first[9], kind="centralised", since=NOW, status="ended")
    _designations(session, people, rng)
    session.flush()
    # The samples went straight into the tables (``world.tube``), as a bulk load would: the
    # per-person test summaries the columns read are rebuilt from them, as after a bulk load.
    summary.rebuild(session=session)
    return [p.id for p in session.scalars(select(Person).order_by(Person.id))]


def _tracing(session: Session, people: Sequence[Person], rng: random.Random) -> None:
    """Companion flags: current, lapsed and future; cleared by two negatives a day apart or
    not (too close together, or too late)."""
    contact = session.scalars(select(Contact).order_by(Contact.id)).first()
    assert contact is not None
    flags = [NOW - timedelta(days=2), NOW - timedelta(days=20), NOW + timedelta(days=1)]
    for index, person in enumerate(people):
        flagged = flags[index % 3]
        session.add(
            CompanionFlag(
                investigation_id=contact.investigation_id,
                case_id=contact.case_id,
                person_id=person.id,
                area_path=person.area_path,
                venue_id=1,
                case_venue_id=1,
                cell="cell",
                at=flagged,
                minutes=60,
                rule_ref="test",
                flagged_at=flagged,
            )
        )
        gap = [timedelta(hours=30), timedelta(hours=12), timedelta(days=4)][index // 3 % 3]
        if index % 2 == 0 and flagged < NOW - gap:
            _single(session, person, flagged + timedelta(hours=1), "not_detected")
            _single(session, person, flagged + timedelta(hours=1) + gap, "not_detected")
    session.flush()


def _designations(session: Session, people: Sequence[Person], rng: random.Random) -> None:
    housed = [p for p in people if p.household_id is not None]
    homes = [session.get(Household, p.household_id) for p in rng.sample(housed, 4)]
    since = NOW - timedelta(days=3)
    world.designation(session, level="high", since=since, area_path=people[0].area_path)
    kinds = ("building", "compound", "unit")
    for home, level, kind in zip(homes, ("medium", "low", "high"), kinds, strict=False):
        assert home is not None and home.building_id is not None
        row = world.designation(
            session, level=level, since=since, area_path="/", building_id=home.building_id
        )
        building = session.get(Building, home.building_id)
        assert building is not None
        row.target_kind, row.compound_id, row.unit = kind, building.compound_id, home.unit
    world.designation(session, level="medium", since=since, area_path=people[-1].area_path)
    session.flush()


def per_person(session: Session, ids: list[int], now: datetime, pack_id: str) -> dict[int, Stored]:
    facts = service.gather_facts(
        session=session, person_ids=ids, now=now, providers=service.DEFAULT_PROVIDERS
    )
    decided = service.decide_all(facts=facts, now=now, pack=section(pack_id))
    return {pid: (d.colour, d.rule_id, d.reasons, d.valid_until) for pid, d in decided.items()}


def vectorised(session: Session, now: datetime, pack_id: str) -> dict[int, Stored]:
    facts = columns.read(session=session, now=now)
    decided = vector.evaluate(session=session, columns=facts, now=now, pack=section(pack_id))
    found = {}
    for at, pid in enumerate(facts.ids.tolist()):
        d = decided.decision(at, now)
        found[pid] = (d.colour, d.rule_id, d.reasons, d.valid_until)
    return found


@pytest.fixture
def city(session: Session, personas: Personas) -> list[int]:
    return seed(session, personas)


@pytest.mark.parametrize("pack_id", PACKS)
def test_the_columns_decide_what_the_engine_decides(
    session: Session, city: list[int], pack_id: str
) -> None:
    deciding: set[str] = set()
    for now in (NOW, NOW + timedelta(days=3)):
        expected = per_person(session, city, now, pack_id)

        assert vectorised(session, now, pack_id) == expected
        deciding |= {rule for _, rule, _, _ in expected.values()}
    # The city exercises the rules: every rule its facts can trigger decides someone's code.
    assert deciding == DECIDING_RULES[pack_id]


CN_20 = {
    "hc.case",
    "hc.close_contact",
    "hc.companion",
    "hc.health_monitoring",
    "hc.isolation",
    "hc.key_post_overdue",
    "hc.no_risk",
    "hc.positive_pool",
    "hc.residence_high",
}
DECIDING_RULES: dict[str, set[str]] = {
    "cn-9": CN_20 | {"hc.residence_medium", "hc.secondary_contact"},
    "cn-10": {"hc.case", "hc.close_contact", "hc.isolation", "hc.no_risk", "hc.positive_pool"},
    "cn-20": CN_20,
    "zhuzhou-2022-11": CN_20
    | {
        "hc.residence_medium",
        "hc.secondary_contact",
        "zz.skipped_round",
        "zz.skipped_round_repeated",
        "zz.skipped_round_risk_area",
    },
    "us-cdc": {"hc.us.not_issued"},
}


def test_the_full_recompute_writes_what_the_per_person_path_would(
    session: Session, city: list[int]
) -> None:
    first = jobs.recompute_all(session=session, now=NOW, vectorised=True)
    events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    # The per-person path finds nothing left to write, so both store the same codes.
    again = jobs.recompute_all(session=session, now=NOW, vectorised=False)
    stale = session.scalars(
        select(HealthCode.person_id)
        .where(HealthCode.rule_id == "zz.skipped_round")
        .order_by(HealthCode.person_id)
    ).first()
    assert stale is not None
    person = session.get(Person, stale)
    assert person is not None
    _single(session, person, NOW - timedelta(minutes=30), None)
    # Written straight into the tables: its summary is refreshed as adding a member does.
    summary.refresh(session=session, people=select(Person.id).where(Person.id == stale))
    later = jobs.recompute_all(session=session, now=NOW, vectorised=True)

    assert (first.evaluated, first.changed, first.conflicted) == (len(city), len(city), [])
    assert (again.changed, again.refreshed) == (0, 0)
    assert (later.evaluated, later.changed, later.refreshed) == (len(city), 1, 0)
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    code = session.get(HealthCode, stale)
    assert event is not None and code is not None
    assert (event.subject_id, event.rule_ref) == (str(stale), "zhuzhou-2022-11@1#hc.no_risk")
    assert (code.colour, code.reasons) == ("green", ["no_risk_found"])
    assert (session.scalar(select(func.count()).select_from(AuditEvent)) or 0) == events + 1
