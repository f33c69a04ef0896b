"""Figures computed from the synthetic outbreak, exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.command import rules, service
from fangkong.command.enums import ListKind
from fangkong.command.models import Bulletin, DailyFigures
from fangkong.core import clock
from fangkong.core.errors import FangkongError, PermissionDenied
from fangkong.tracing import service as tracing_service
from fangkong.tracing.enums import CaseStatus
from tests.authz import snapshot
from tests.command.outbreak import (
    CITY_PATH,
    DAY1,
    DAY2,
    DAY3,
    HETANG_PATH,
    LUSONG_PATH,
    NOW,
    build,
    command_actor,
)
from tests.personas import LUSONG, Personas

TZ = "Asia/Shanghai"


def _compute(session: Session, personas: Personas) -> dict[tuple[str, object], rules.Figures]:
    actor = command_actor(personas)
    stored = {}
    for day in (DAY1, DAY2, DAY3):
        for row in service.compute_day(
            session=session, actor=actor, day=day, now=NOW, cutoff_hour=24, timezone=TZ
        ):
            stored[(row.area_path, day)] = service.figures_of(row)
    return stored


def test_the_city_figures_of_each_day_are_exact(session: Session, personas: Personas) -> None:
    build(session)
    figures = _compute(session, personas)
    assert figures[(CITY_PATH, DAY1)] == rules.Figures(
        new_confirmed=2,
        new_asymptomatic=2,
        cumulative_confirmed=2,
        cumulative_asymptomatic=2,
        under_treatment=2,
        under_observation=2,
        tests=3,
        cumulative_tests=3,
        risk_areas_added=1,
        risk_areas_in_force=1,
        centralised_isolation=1,
        home_isolation=1,
    )
    assert figures[(CITY_PATH, DAY2)] == rules.Figures(
        new_confirmed=2,
        reclassified=1,
        new_cured=1,
        cumulative_confirmed=4,
        cumulative_asymptomatic=2,
        cumulative_reclassified=1,
        cumulative_cured=1,
        under_treatment=3,
        under_observation=1,
        tests=2,
        cumulative_tests=5,
        risk_areas_added=1,
        risk_areas_in_force=2,
        centralised_isolation=1,
    )
    assert figures[(CITY_PATH, DAY3)] == rules.Figures(
        new_asymptomatic=1,
        new_deaths=1,
        new_released=1,
        cumulative_confirmed=4,
        cumulative_asymptomatic=3,
        cumulative_reclassified=1,
        cumulative_cured=1,
        cumulative_deaths=1,
        cumulative_released=1,
        under_treatment=2,
        under_observation=1,
        cumulative_tests=5,
        risk_areas_lifted=1,
        risk_areas_in_force=1,
        centralised_isolation=1,
    )


def test_districts_split_the_day_and_add_up_to_the_city(
    session: Session, personas: Personas
) -> None:
    build(session)
    figures = _compute(session, personas)
    lusong, hetang = figures[(LUSONG_PATH, DAY1)], figures[(HETANG_PATH, DAY1)]
    assert (lusong.new_confirmed, lusong.new_asymptomatic, lusong.tests) == (1, 1, 3)
    assert (hetang.new_confirmed, hetang.new_asymptomatic, hetang.home_isolation) == (1, 1, 1)
    for day in (DAY1, DAY2, DAY3):
        districts = [f for (path, d), f in figures.items() if d == day and path != CITY_PATH]
        assert len(districts) == 9  # the nine districts and counties of 株洲市
        assert rules.sum_errors(figures[(CITY_PATH, day)], districts) == []


def test_the_identities_hold_from_day_to_day(session: Session, personas: Personas) -> None:
    build(session)
    figures = _compute(session, personas)
    for path in (CITY_PATH, LUSONG_PATH, HETANG_PATH):
        assert rules.identity_errors(None, figures[(path, DAY1)]) == []
        assert rules.identity_errors(figures[(path, DAY1)], figures[(path, DAY2)]) == []
        assert rules.identity_errors(figures[(path, DAY2)], figures[(path, DAY3)]) == []


def test_recomputing_a_day_replaces_its_rows(session: Session, personas: Personas) -> None:
    build(session)
    _compute(session, personas)
    first = _compute(session, personas)
    again = _compute(session, personas)
    assert first == again
    rows = session.scalar(
        select(func.count()).select_from(DailyFigures).where(DailyFigures.day == DAY2)
    )
    assert rows == 10  # the city and its nine districts, once each


def test_a_district_actor_computes_only_its_district(session: Session, personas: Personas) -> None:
    build(session)
    actor = command_actor(personas, LUSONG)
    rows = service.compute_day(
        session=session, actor=actor, day=DAY1, now=NOW, cutoff_hour=24, timezone=TZ
    )
    assert [r.area_path for r in rows] == [LUSONG_PATH]


def test_the_bulletin_is_archived_once_per_day(session: Session, personas: Personas) -> None:
    build(session)
    actor = command_actor(personas)
    for _ in range(2):
        (bulletin,) = service.generate_bulletins(
            session=session, actor=actor, day=DAY1, now=NOW, cutoff_hour=24, timezone=TZ
        )
    assert session.scalar(select(func.count()).select_from(Bulletin)) == 1
    assert bulletin.text_zh.startswith("株洲市2022年11月10日新冠肺炎疫情情况\n")
    assert "新增本土确诊病例2例（荷塘区1例、芦淞区1例）" in bulletin.text_zh
    assert [b.id for b in service.list_bulletins(session=session, actor=actor)] == [bulletin.id]


def test_the_four_lists_count_by_district_and_drill_down(
    session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    actor = command_actor(personas)
    people = outbreak.people
    expected = {
        ListKind.TEST: {people[n].id for n in ("c2", "c5", "c6", "c7", "h3", "k1")},
        ListKind.ISOLATE: {people["k1"].id},
        ListKind.ADMIT: {people["c7"].id},
        ListKind.TREAT: {people["c2"].id, people["c6"].id},
    }
    for kind, ids in expected.items():
        counts = service.list_counts(session=session, actor=actor, kind=kind, now=NOW)
        assert len(counts) == 9
        assert counts[-1][1].path == LUSONG_PATH and counts[-1][2] == len(ids)
        assert counts[-1][0] == 9  # eight districts at 0 share rank 1
        assert {c for _, _, c in counts[:-1]} == {0}
        rows = service.list_people(session=session, actor=actor, kind=kind, now=NOW)
        assert {r.person_id for r in rows} == ids
        assert all(r.name.startswith("张") and set(r.name[1:]) == {"*"} for r in rows)
    hetang = service.list_people(
        session=session, actor=actor, kind=ListKind.TREAT, now=NOW, path=HETANG_PATH
    )
    assert hetang == []


def test_a_district_actor_sees_only_its_district_on_the_lists(
    session: Session, personas: Personas
) -> None:
    build(session)
    hetang_actor = command_actor(personas, "430202")
    counts = service.list_counts(session=session, actor=hetang_actor, kind=ListKind.TREAT, now=NOW)
    assert [(rank, area.path, n) for rank, area, n in counts] == [(1, HETANG_PATH, 0)]
    assert (
        service.list_people(session=session, actor=hetang_actor, kind=ListKind.TREAT, now=NOW) == []
    )


def test_a_day_not_started_or_a_bad_cut_off_is_refused_and_changes_nothing(
    session: Session, personas: Personas
) -> None:
    build(session)
    actor = command_actor(personas)
    before = snapshot(session)
    for day, hour, code in (
        (date(2022, 11, 14), 24, "command.day_in_future"),
        (DAY1, 0, "command.bad_cutoff"),
    ):
        with pytest.raises(FangkongError) as refused:
            service.compute_day(
                session=session, actor=actor, day=day, now=NOW, cutoff_hour=hour, timezone=TZ
            )
        assert refused.value.code == code
    assert snapshot(session) == before


def test_a_role_without_reports_view_is_refused(session: Session, personas: Personas) -> None:
    build(session)
    sampler = actor_for(personas.user("sampler", Role.SAMPLER, "4302"))
    with pytest.raises(PermissionDenied):
        service.compute_day(
            session=session, actor=sampler, day=DAY1, now=NOW, cutoff_hour=24, timezone=TZ
        )
    with pytest.raises(PermissionDenied):
        service.list_people(session=session, actor=sampler, kind=ListKind.ADMIT, now=NOW)


def test_cured_and_deaths_keep_the_day_of_the_status_change_not_of_a_later_edit(
    session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    epidemiologist = actor_for(personas.user("epi-zz", Role.EPIDEMIOLOGIST, LUSONG))
    c6 = outbreak.cases["c6"]
    # c6 (in a shelter hospital since 10 Nov) is discharged at 10:00 local on 11 Nov
    with clock.use_clock(clock.ManualClock(datetime(2022, 11, 11, 2, 0, tzinfo=UTC))):
        tracing_service.advance_status(
            session=session, actor=epidemiologist, case_id=c6.id, to=CaseStatus.DISCHARGED
        )
    assert c6.outcome_at == datetime(2022, 11, 11, 2, 0, tzinfo=UTC)
    # a note added on 12 Nov moves its last change, not its day of discharge
    c6.note = "follow-up call done"
    c6.updated_at = datetime(2022, 11, 12, 3, 0, tzinfo=UTC)
    session.flush()
    figures = _compute(session, personas)
    assert figures[(LUSONG_PATH, DAY2)].new_cured == 2  # c1 and c6
    assert figures[(LUSONG_PATH, DAY3)].new_cured == 0
    assert figures[(LUSONG_PATH, DAY3)].cumulative_cured == 2
    assert figures[(HETANG_PATH, DAY3)].new_deaths == 1
    assert figures[(LUSONG_PATH, DAY2)].under_treatment == 1  # c2 alone


def test_tests_carried_on_from_the_previous_day_equal_a_count_from_the_start(
    session: Session, personas: Personas
) -> None:
    build(session)
    carried = _compute(session, personas)  # days 2 and 3 carry on from the day before
    session.execute(delete(DailyFigures).where(DailyFigures.day == DAY2))
    alone = service.compute_day(
        session=session,
        actor=command_actor(personas),
        day=DAY3,
        now=NOW,
        cutoff_hour=24,
        timezone=TZ,
    )
    assert {row.area_path: service.figures_of(row) for row in alone} == {
        path: figures for (path, day), figures in carried.items() if day == DAY3
    }
    assert carried[(CITY_PATH, DAY3)].cumulative_tests == 5
