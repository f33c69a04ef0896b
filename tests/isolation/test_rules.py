"""Isolation rules per pack: phases and test days, the release check, and placements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from fangkong.isolation.enums import (
    Category,
    PhaseKind,
    PlacementReason,
    ReleaseOutcome,
    SampleResult,
)
from fangkong.isolation.rules import (
    OUTCOMES,
    OrderMatrix,
    phase_day,
    plan_order,
    propose_placements,
    release_check,
    release_check_batch,
)
from fangkong.isolation.schemas import (
    IsolationSection,
    OrderFacts,
    PersonToPlace,
    RoomSpace,
    TakenTest,
)
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.registry.enums import PersonTag
from fangkong.rulepacks.catalog import load_catalog

CATALOG = load_catalog(schemas=[ISOLATION_SECTION])
EXPOSED = datetime(2022, 11, 10, 8, 0, tzinfo=UTC)
NOW = datetime(2022, 11, 11, 9, 0, tzinfo=UTC)
D = timedelta(days=1)


def section(pack_id: str) -> IsolationSection:
    return CATALOG.get(pack_id).section(ISOLATION_SECTION)


@pytest.mark.parametrize(
    ("_case", "pack_id", "category", "expected"),
    [
        (
            "cn-9 I3: close contact 7 d centralised + 3 d home monitoring from last exposure",
            "cn-9",
            Category.CLOSE_CONTACT,
            [
                (PhaseKind.CENTRALISED, EXPOSED, EXPOSED + 7 * D, (1, 2, 3, 5, 7)),
                (PhaseKind.HOME_MONITORING, EXPOSED + 7 * D, EXPOSED + 10 * D, (3,)),
            ],
        ),
        (
            "cn-9 I4: secondary contact 7 d home isolation, tests days 1, 4, 7",
            "cn-9",
            Category.SECONDARY_CONTACT,
            [(PhaseKind.HOME_ISOLATION, EXPOSED, EXPOSED + 7 * D, (1, 4, 7))],
        ),
        (
            "cn-20 I8: close contact 5 d centralised + 3 d home isolation",
            "cn-20",
            Category.CLOSE_CONTACT,
            [
                (PhaseKind.CENTRALISED, EXPOSED, EXPOSED + 5 * D, (1, 2, 3, 5)),
                (PhaseKind.HOME_ISOLATION, EXPOSED + 5 * D, EXPOSED + 8 * D, (1, 3)),
            ],
        ),
        (
            "cn-20 I11: inbound traveller counts from the order, not an exposure",
            "cn-20",
            Category.INBOUND_TRAVELLER,
            [
                (PhaseKind.CENTRALISED, NOW, NOW + 5 * D, (1, 2, 3, 5)),
                (PhaseKind.HOME_ISOLATION, NOW + 5 * D, NOW + 8 * D, (1, 3)),
            ],
        ),
        (
            "cn-10 I12: close contact 5 d at home, test on day 5",
            "cn-10",
            Category.CLOSE_CONTACT,
            [(PhaseKind.HOME_ISOLATION, EXPOSED, EXPOSED + 5 * D, (5,))],
        ),
        (
            "us-cdc 2020: 14 d quarantine at home, no test required",
            "us-cdc",
            Category.CLOSE_CONTACT,
            [(PhaseKind.HOME_ISOLATION, EXPOSED, EXPOSED + 14 * D, ())],
        ),
        (
            "zhuzhou keeps the 9th edition's 7+3",
            "zhuzhou-2022-11",
            Category.CLOSE_CONTACT,
            [
                (PhaseKind.CENTRALISED, EXPOSED, EXPOSED + 7 * D, (1, 2, 3, 5, 7)),
                (PhaseKind.HOME_MONITORING, EXPOSED + 7 * D, EXPOSED + 10 * D, (3,)),
            ],
        ),
    ],
)
def test_it_plans_phases_and_test_days_per_pack(
    _case: str, pack_id: str, category: Category, expected: list[tuple[object, ...]]
) -> None:
    plan = plan_order(
        category=category, last_exposure_at=EXPOSED, now=NOW, section=section(pack_id)
    )

    assert plan is not None
    assert [(p.kind, p.starts_at, p.ends_at, p.test_days) for p in plan.phases] == expected


def test_it_has_no_secondary_contacts_from_cn20_on() -> None:
    for pack_id in ("cn-20", "cn-10"):
        assert (
            plan_order(
                category=Category.SECONDARY_CONTACT,
                last_exposure_at=EXPOSED,
                now=NOW,
                section=section(pack_id),
            )
            is None
        )


def test_it_numbers_phase_days_from_the_phase_start() -> None:
    assert phase_day(phase_started_at=EXPOSED, sampled_at=EXPOSED + timedelta(hours=1)) == 1
    assert phase_day(phase_started_at=EXPOSED, sampled_at=EXPOSED + D) == 2
    assert (
        phase_day(phase_started_at=EXPOSED, sampled_at=EXPOSED + 7 * D - timedelta(seconds=1)) == 7
    )


def negatives(*days: int) -> tuple[TakenTest, ...]:
    return tuple(TakenTest(day, SampleResult.NEGATIVE) for day in days)


@pytest.mark.parametrize(
    ("_case", "pack_id", "category", "phase", "tests", "now", "outcome", "missing"),
    [
        (
            "cn-9: centralised done, all tests negative → home monitoring",
            "cn-9",
            Category.CLOSE_CONTACT,
            0,
            negatives(1, 2, 3, 5, 7),
            EXPOSED + 7 * D,
            ReleaseOutcome.NEXT_PHASE,
            (),
        ),
        (
            "cn-9: an hour before the end → not due",
            "cn-9",
            Category.CLOSE_CONTACT,
            0,
            negatives(1, 2, 3, 5, 7),
            EXPOSED + 7 * D - timedelta(hours=1),
            ReleaseOutcome.NOT_DUE,
            (),
        ),
        (
            "cn-9: the day-5 test is missing",
            "cn-9",
            Category.CLOSE_CONTACT,
            0,
            negatives(1, 2, 3, 7),
            EXPOSED + 7 * D,
            ReleaseOutcome.MISSING_TESTS,
            (5,),
        ),
        (
            "cn-9: a positive on day 3 → handed over as a case, whenever checked",
            "cn-9",
            Category.CLOSE_CONTACT,
            0,
            (*negatives(1, 2), TakenTest(3, SampleResult.POSITIVE)),
            EXPOSED + 4 * D,
            ReleaseOutcome.POSITIVE,
            (),
        ),
        (
            "cn-9: home monitoring day-3 negative → free",
            "cn-9",
            Category.CLOSE_CONTACT,
            1,
            negatives(3),
            EXPOSED + 10 * D,
            ReleaseOutcome.RELEASED,
            (),
        ),
        (
            "cn-10 I13: mild case, Ct ≥ 35 on days 6 and 7 counts as negative → free",
            "cn-10",
            Category.MILD_CASE,
            0,
            (TakenTest(6, SampleResult.POSITIVE, 36.0), TakenTest(7, SampleResult.POSITIVE, 37.5)),
            EXPOSED + 7 * D,
            ReleaseOutcome.RELEASED,
            (),
        ),
        (
            "cn-10: Ct 30 on day 7 is still positive",
            "cn-10",
            Category.MILD_CASE,
            0,
            (TakenTest(6, SampleResult.POSITIVE, 36.0), TakenTest(7, SampleResult.POSITIVE, 30.0)),
            EXPOSED + 7 * D,
            ReleaseOutcome.POSITIVE,
            (),
        ),
        (
            "us-cdc: no tests required → free after 14 days",
            "us-cdc",
            Category.CLOSE_CONTACT,
            0,
            (),
            EXPOSED + 14 * D,
            ReleaseOutcome.RELEASED,
            (),
        ),
    ],
)
def test_it_checks_release_against_the_schedule(
    _case: str,
    pack_id: str,
    category: Category,
    phase: int,
    tests: tuple[TakenTest, ...],
    now: datetime,
    outcome: ReleaseOutcome,
    missing: tuple[int, ...],
) -> None:
    rules = section(pack_id)
    plan = plan_order(category=category, last_exposure_at=EXPOSED, now=EXPOSED, section=rules)
    assert plan is not None
    facts = OrderFacts(category, phase, plan.phases[phase].ends_at, tests)

    decision = release_check(facts=facts, now=now, section=rules)

    assert (decision.outcome, decision.missing_days) == (outcome, missing)


def test_it_decides_release_the_same_vectorised_as_order_by_order() -> None:
    rules = section("cn-9")
    rng = np.random.default_rng(11)
    n = 2000
    phase = rng.integers(0, 2, n)
    ends = EXPOSED + 7 * D
    ends_at = np.full(n, int(ends.timestamp())) + rng.integers(-7200, 7200, n)
    negative = rng.integers(0, 256, n) & ~1
    positive = np.where(rng.random(n) < 0.05, 1 << rng.integers(1, 8, n), 0)
    required = np.array([sum(1 << d for d in rules.rules[0].phases[p].test_days) for p in phase])
    matrix = OrderMatrix(ends_at, required, negative, positive, phase == 1)

    batch = [OUTCOMES[i] for i in release_check_batch(orders=matrix, now=ends)]
    loop = []
    for i in range(n):
        tests = tuple(
            TakenTest(d, SampleResult.POSITIVE if positive[i] >> d & 1 else SampleResult.NEGATIVE)
            for d in range(1, 8)
            if (negative[i] | positive[i]) >> d & 1
        )
        facts = OrderFacts(
            Category.CLOSE_CONTACT,
            int(phase[i]),
            datetime.fromtimestamp(int(ends_at[i]), UTC),
            tests,
        )
        loop.append(release_check(facts=facts, now=ends, section=rules).outcome)

    assert batch == loop
    assert len(set(loop)) == 5


def person(
    pid: int, household: int | None, tags: int = 0, born: date | None = None
) -> PersonToPlace:
    return PersonToPlace(pid, household, tags, born or date(1980, 1, 1))


def test_it_keeps_households_together_and_respects_capacity() -> None:
    people = [
        person(1, 10),
        person(2, 10),
        person(3, 10),  # household of 3
        person(4, 20),
        person(5, 20),  # household of 2
        person(6, None),  # alone
        person(7, 30),
        person(8, 30),
        person(9, 30),
    ]
    rooms = [RoomSpace(100, 1, 2), RoomSpace(101, 1, 3), RoomSpace(102, 2, 1), RoomSpace(103, 2, 1)]

    plan = propose_placements(
        category=Category.CLOSE_CONTACT,
        people=people,
        rooms=rooms,
        now=NOW,
        section=section("cn-9"),
    )

    assert [(p.person_id, p.room_id, p.reason) for p in plan] == [
        (1, 101, PlacementReason.PLACED),
        (2, 101, PlacementReason.PLACED),
        (3, 101, PlacementReason.PLACED),
        (4, 100, PlacementReason.PLACED),
        (5, 100, PlacementReason.PLACED),
        (6, 102, PlacementReason.PLACED),
        (7, None, PlacementReason.NO_CAPACITY),
        (8, None, PlacementReason.NO_CAPACITY),
        (9, None, PlacementReason.NO_CAPACITY),
    ]


def test_it_leaves_people_who_cannot_be_moved_at_home_with_their_household() -> None:
    people = [
        person(1, 10, tags=int(PersonTag.BEDRIDDEN)),
        person(2, 10),
        person(3, 20, tags=int(PersonTag.DIALYSIS)),
        person(4, 30, born=date(2021, 6, 1)),  # 17 months old on NOW
        person(5, 30),
        person(6, 40, born=date(2019, 11, 10)),  # just over 3 years: moved
    ]
    rooms = [RoomSpace(100, 1, 4)]

    plan = propose_placements(
        category=Category.CLOSE_CONTACT,
        people=people,
        rooms=rooms,
        now=NOW,
        section=section("cn-9"),
    )

    assert [(p.person_id, p.room_id, p.reason) for p in plan] == [
        (1, None, PlacementReason.BEDRIDDEN),
        (2, None, PlacementReason.ACCOMPANIES_HOUSEHOLD),
        (3, None, PlacementReason.DIALYSIS),
        (4, None, PlacementReason.INFANT),
        (5, None, PlacementReason.ACCOMPANIES_HOUSEHOLD),
        (6, 100, PlacementReason.PLACED),
    ]


def test_it_splits_a_large_household_over_rooms_of_one_facility() -> None:
    people = [person(i, 10) for i in range(1, 5)]
    rooms = [RoomSpace(100, 1, 1), RoomSpace(200, 2, 2), RoomSpace(201, 2, 2)]

    plan = propose_placements(
        category=Category.CLOSE_CONTACT,
        people=people,
        rooms=rooms,
        now=NOW,
        section=section("cn-9"),
    )

    assert [(p.person_id, p.facility_id, p.room_id) for p in plan] == [
        (1, 2, 200),
        (2, 2, 200),
        (3, 2, 201),
        (4, 2, 201),
    ]


def test_it_sends_everyone_home_when_the_pack_isolates_at_home_cn10() -> None:
    plan = propose_placements(
        category=Category.CLOSE_CONTACT,
        people=[person(1, 10), person(2, 10)],
        rooms=[RoomSpace(100, 1, 4)],
        now=NOW,
        section=section("cn-10"),
    )

    assert [(p.person_id, p.is_home, p.reason) for p in plan] == [
        (1, True, PlacementReason.HOME_BY_RULE),
        (2, True, PlacementReason.HOME_BY_RULE),
    ]
