"""Daily on-site staff reports and the resumption statistics built on them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.enterprise import events, rules
from fangkong.enterprise.enums import ApplicationStatus, StatisticsGrouping
from fangkong.enterprise.errors import EnterpriseErrorCode as E
from fangkong.enterprise.models import (
    ApplicationStaff,
    DailyStaffReport,
    Enterprise,
    ResumptionApplication,
)
from fangkong.enterprise.schemas import GroupStatistics
from fangkong.enterprise.service import approved_application, approved_staff_ids, get_for_actor


def file_daily_report(
    *, session: Session, actor: Actor, enterprise_id: int, report_date: date, staff_on_site: int
) -> DailyStaffReport:
    """Record (or correct) how many staff were on site on ``report_date``."""
    get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    application = approved_application(session=session, enterprise_id=enterprise_id)
    if application is None:
        raise Conflict(E.NOT_APPROVED, "the enterprise has not been approved to resume")
    approved = len(approved_staff_ids(session=session, application_id=application.id))
    if not 0 <= staff_on_site <= approved:
        raise FangkongError(
            E.STAFF_ON_SITE_INVALID,
            f"staff on site must be between 0 and the {approved} approved staff",
            field="staff_on_site",
        )
    if report_date > clock.now().date():
        raise FangkongError(E.REPORT_DATE_INVALID, "that day has not come yet", field="report_date")
    report = session.scalars(
        select(DailyStaffReport).where(
            DailyStaffReport.enterprise_id == enterprise_id,
            DailyStaffReport.report_date == report_date,
        )
    ).one_or_none()
    before = None if report is None else {"staff_on_site": report.staff_on_site}
    if report is None:
        report = DailyStaffReport(
            enterprise_id=enterprise_id, report_date=report_date, staff_on_site=0
        )
        session.add(report)
    report.staff_on_site = staff_on_site
    report.reported_at = clock.now()
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=events.DAILY_REPORT_FILED,
        subject_type=events.SUBJECT_ENTERPRISE,
        subject_id=enterprise_id,
        before=before,
        after={"report_date": report_date.isoformat(), "staff_on_site": staff_on_site},
    )
    return report


def statistics(
    *, session: Session, actor: Actor, grouping: StatisticsGrouping, on: date
) -> list[GroupStatistics]:
    """Enterprises, resumed enterprises, resumption rate (复工率 = resumed / registered) and
    staff-on-duty rate (到位率 = staff on site on ``on`` / approved staff of resumed enterprises),
    grouped by park, industry or size, inside the caller's jurisdiction."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    enterprises = list(
        session.execute(
            scope_to_jurisdiction(
                select(
                    Enterprise.id, Enterprise.park, Enterprise.industry, Enterprise.is_above_scale
                ),
                actor=actor,
                path_column=Enterprise.area_path,
            )
        )
    )
    latest_approved = (
        select(
            ResumptionApplication.enterprise_id,
            func.max(ResumptionApplication.id).label("application_id"),
        )
        .where(ResumptionApplication.status == ApplicationStatus.APPROVED)
        .group_by(ResumptionApplication.enterprise_id)
        .subquery()
    )
    staff = dict(
        session.execute(
            select(latest_approved.c.enterprise_id, func.count(ApplicationStaff.id))
            .join(
                ApplicationStaff,
                ApplicationStaff.application_id == latest_approved.c.application_id,
            )
            .group_by(latest_approved.c.enterprise_id)
        )
        .tuples()
        .all()
    )
    on_site = dict(
        session.execute(
            select(DailyStaffReport.enterprise_id, DailyStaffReport.staff_on_site).where(
                DailyStaffReport.report_date == on
            )
        )
        .tuples()
        .all()
    )
    groups: dict[str, list[int]] = {}
    for row in enterprises:
        groups.setdefault(_group_key(row, grouping), []).append(row.id)
    answer = []
    for key in sorted(groups):
        ids = groups[key]
        resumed = [i for i in ids if i in staff]
        approved = sum(staff[i] for i in resumed)
        present = sum(on_site.get(i, 0) for i in resumed)
        answer.append(
            GroupStatistics(
                group=key,
                enterprises=len(ids),
                resumed=len(resumed),
                resumption_rate=rules.rate(len(resumed), len(ids)),
                approved_staff=approved,
                staff_on_site=present,
                on_duty_rate=rules.rate(present, approved),
            )
        )
    return answer


def _group_key(row: Row[Any], grouping: StatisticsGrouping) -> str:
    if grouping is StatisticsGrouping.PARK:
        return str(row.park or "-")
    if grouping is StatisticsGrouping.INDUSTRY:
        return str(row.industry)
    return "above_scale" if row.is_above_scale else "below_scale"
