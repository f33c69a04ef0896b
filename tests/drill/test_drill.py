"""A whole drill on a small city: reproducible per seed, and the platform's records agree with
what the report says it did."""

from __future__ import annotations

import shutil
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.command.models import Bulletin, DailyFigures
from fangkong.core.audit import AuditEvent
from fangkong.db.session import create_db_engine
from fangkong.drill import report as drill_report
from fangkong.drill.cli import prepare_database, run_in_database
from fangkong.isolation.enums import OrderStatus
from fangkong.isolation.models import IsolationOrder
from fangkong.testing.enums import LabResult
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing.enums import CaseKind, CaseStatus
from fangkong.tracing.models import Case, Contact, ContactLink, PlaceScan

POPULATION = 3_000
DAYS = 10
PACK = "zhuzhou-2022-11"


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drill") / "city.db"
    assert prepare_database(database_url=f"sqlite:///{path}", population=POPULATION)
    return path


@cache
def _drill(template: Path, seed: int, copy: int) -> tuple[str, dict[str, Any]]:
    path = template.with_name(f"drill-{seed}-{copy}.db")
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    result = run_in_database(
        database_url=url, population=POPULATION, pack=PACK, seed=seed, days=DAYS,
        migrate_first=False,
    )  # fmt: skip
    return url, result


def test_the_same_seed_gives_the_same_report_and_another_seed_another(city_db: Path) -> None:
    _, first = _drill(city_db, 7, 1)
    _, again = _drill(city_db, 7, 2)
    _, other = _drill(city_db, 8, 1)
    assert drill_report.dumps(first) == drill_report.dumps(again)
    assert drill_report.dumps(first) != drill_report.dumps(other)


def test_the_report_counts_what_the_platform_stored(city_db: Path) -> None:
    url, result = _drill(city_db, 7, 1)
    engine = create_db_engine(url)
    with Session(engine) as session:
        tubes = session.scalar(select(func.count()).select_from(Tube))
        samples = session.scalar(select(func.count()).select_from(TubeMember))
        single_positive_people = session.scalar(
            select(func.count(func.distinct(TubeMember.person_id)))
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(TubeResult, TubeResult.tube_id == Tube.id)
            .where(Tube.pool_size == 1, TubeResult.result == LabResult.DETECTED.value)
        )
        orders = session.scalar(select(func.count()).select_from(IsolationOrder))
        released = session.scalar(
            select(func.count())
            .select_from(IsolationOrder)
            .where(IsolationOrder.status == OrderStatus.RELEASED.value)
        )
        next_phase = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "isolation.order.next_phase")
        )
        cases = session.scalar(select(func.count()).select_from(Case))
        # one finding per investigation and person; one contact row per person found
        findings = session.scalar(select(func.count()).select_from(ContactLink))
        contact_people = session.scalar(select(func.count(func.distinct(Contact.person_id))))
        scans = session.scalar(select(func.count()).select_from(PlaceScan))
        bulletin_days = sorted(
            session.scalars(select(Bulletin.day).where(Bulletin.area_path == "/43/4302/"))
        )
        reported, reclassified = session.execute(
            select(
                func.sum(DailyFigures.new_confirmed + DailyFigures.new_asymptomatic),
                func.sum(DailyFigures.reclassified),
            ).where(DailyFigures.area_path == "/43/4302/")  # the city
        ).one()
    engine.dispose()
    assert result["days_run"] == DAYS
    assert result["population"] == POPULATION
    assert result["tubes"] == tubes
    assert result["samples"] == samples
    assert result["cases_detected"] == single_positive_people == cases
    assert sum(day["cases_found"] for day in result["daily"]) == cases
    assert sum(day["contacts_found"] for day in result["daily"]) == findings
    assert result["contacts"]["found"] == contact_people
    assert sum(day["orders_made"] for day in result["daily"]) == orders
    assert sum(day["orders_released"] for day in result["daily"]) == released
    assert sum(day["orders_next_phase"] for day in result["daily"]) == next_phase
    assert scans > 0
    # the command centre filed one city bulletin a day, and its new cases are the platform's
    assert bulletin_days == [date.fromisoformat(day["date"]) for day in result["daily"]]
    # an asymptomatic infection reclassified as confirmed is counted again among the confirmed
    # of its day (其中无症状感染者转为确诊病例), as the bulletin says
    assert reclassified == result["care"]["reclassified"]
    assert reported == cases + reclassified
    assert result["infections_true"] == sum(p["infections"] for p in result["curve"])
    assert result["infections_true"] >= 10  # the seeded infections
    contacts = result["contacts"]
    assert contacts["found_and_true"] <= min(contacts["found"], contacts["true"])


def test_the_report_counts_the_cases_course_as_tracing_stored_it(city_db: Path) -> None:
    url, result = _drill(city_db, 7, 1)
    engine = create_db_engine(url)
    with Session(engine) as session:
        statuses = dict(
            session.execute(select(Case.status, func.count()).group_by(Case.status)).tuples().all()
        )
        confirmed = dict(
            session.execute(
                select(Case.severity, func.count())
                .where(Case.kind == CaseKind.CONFIRMED.value, Case.reclassified_at.is_not(None))
                .group_by(Case.severity)
            )
            .tuples()
            .all()
        )
        to_hospital = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "tracing.case.status_changed",
                AuditEvent.after["status"].as_string() == CaseStatus.IN_HOSPITAL.value,
            )
        )
    engine.dispose()
    care = result["care"]
    assert care["reclassified_by_type"] == confirmed
    assert care["reclassified"] == sum(confirmed.values())
    assert care["reclassified"] == sum(day["cases_reclassified"] for day in result["daily"])
    assert care["to_hospital"] == to_hospital
    assert care["discharged"] == statuses.get(CaseStatus.DISCHARGED.value, 0)
    assert care["died"] == statuses.get(CaseStatus.DIED.value, 0)
    assert care["in_care_at_end"] == statuses.get(
        CaseStatus.IN_SHELTER_HOSPITAL.value, 0
    ) + statuses.get(CaseStatus.IN_HOSPITAL.value, 0)
    assert result["daily"][-1]["in_care"] == care["in_care_at_end"]
    # the codes of the last day are the platform's
    assert sum(result["daily"][-1]["codes"].values()) > 0


def test_the_report_is_written_as_json_and_html(city_db: Path, tmp_path: Path) -> None:
    _, result = _drill(city_db, 7, 1)
    json_path, html_path = drill_report.write(result, tmp_path)
    assert json_path.read_text(encoding="utf-8") == drill_report.dumps(result)
    page = html_path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "<title>演练报告</title>" in page
    assert "<svg" in page and "发现病例" in page and "订正为确诊" in page and PACK in page
    assert "<script" not in page
    _, en_path = drill_report.write(result, tmp_path / "en", "en")
    english = en_path.read_text(encoding="utf-8")
    assert '<html lang="en">' in english and "<title>Drill report</title>" in english
    assert "cases found" in english and "reclassified as confirmed" in english
    assert "发现病例" not in english
