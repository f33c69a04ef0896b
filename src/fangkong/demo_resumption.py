"""Demo data for work resumption, supplies and vaccination (``fangkong demo`` calls
:func:`prepare_resumption_demo` once the city and the demo accounts exist).

What the demo then shows, through the domains' own services:

* an approved enterprise of 建宁街道 with its staff, whitelist cards, today's staff report and an
  open problem ticket; a second enterprise whose application waits for the industry bureau;
* one building of the demo grid locked down (high risk), its households' supply requests ranked
  and grouped into a delivery task that the demo volunteer can claim;
* the volunteer and the staff with health codes computed by the health-code rules;
* dose records for the residents, so that the coverage tables and charts have something to show.

Idempotent: nothing is added when the first demo enterprise is already registered.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong import packs
from fangkong.accounts import service as accounts_service
from fangkong.accounts.models import User
from fangkong.accounts.service import actor_for
from fangkong.areas import actions as areas_actions
from fangkong.areas import service as areas_service
from fangkong.areas.enums import RiskLevel, TargetKind
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.scope import Actor, within_path
from fangkong.enterprise import actions as enterprise_actions
from fangkong.enterprise import passes, reports, rules, tickets
from fangkong.enterprise import service as enterprise_service
from fangkong.enterprise.enums import ApplicationStatus, TicketCategory
from fangkong.enterprise.models import Enterprise
from fangkong.enterprise.schemas import EnterpriseCreate, PlanFields, TicketCreate, WhitelistIssue
from fangkong.healthcode import service as healthcode_service
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.logistics import service as logistics_service
from fangkong.logistics.enums import MedicalNeed, SupplyKind
from fangkong.logistics.schemas import SupplyRequestCreate
from fangkong.registry import service as registry_service
from fangkong.registry.enums import PersonStatus, PersonTag
from fangkong.registry.models import Building, Household, Person
from fangkong.vaccination import levels
from fangkong.vaccination.enums import DoseSource
from fangkong.vaccination.models import DoseRecord

PACK_SERIES = "cn"
STAFF = 12
PENDING_STAFF = 6
SUPPLY_HOUSEHOLDS = 6
ADULT_BORN_BEFORE = date(2000, 1, 1)
# Shares (per cent) reaching first dose, full course, booster, by minimum age: lower among the
# elderly, as in 2022 (the reason for the door-to-door lists).
DOSE_SHARES = ((60, (72, 62, 35)), (18, (96, 93, 65)), (12, (94, 91, 0)), (3, (88, 84, 0)))
FIRST_DOSE_FROM = date(2021, 4, 1)


def _credit_code(first_17: str) -> str:
    return first_17 + rules.credit_code_check_character(first_17)


def _user(session: Session, username: str) -> User | None:
    return accounts_service.get_by_username(session=session, username=username)


def prepare_resumption_demo(
    *,
    session: Session,
    street_code: str,
    grid_code: str,
    accounts: dict[str, str],
    resident_person_id: int | None,
) -> bool:
    """Add the demo data; ``accounts`` maps ``industry``, ``enterprise``, ``district``, ``grid``
    and ``volunteer`` to the demo usernames. Returns whether anything was added."""
    first_code = _credit_code("91430203MA4D3MX01")
    if session.scalar(select(Enterprise.id).where(Enterprise.credit_code == first_code)):
        return False
    street = registry_service.get_by_code(session=session, code=street_code)
    grid = registry_service.get_by_code(session=session, code=grid_code)
    users = {role: _user(session, name) for role, name in accounts.items()}
    if street is None or grid is None or any(u is None for u in users.values()):
        return False
    actors = {role: actor_for(user) for role, user in users.items() if user is not None}
    adults = list(
        session.scalars(
            select(Person.id)
            .where(
                within_path(Person.area_path, street.path),
                Person.status == PersonStatus.ACTIVE,
                Person.birth_date < ADULT_BORN_BEFORE,
                Person.id != (resident_person_id or 0),
            )
            .order_by(Person.id)
            .limit(STAFF + PENDING_STAFF + 1)
        )
    )
    if len(adults) < STAFF + PENDING_STAFF + 1:
        return False
    volunteer_person, staff, pending_staff = adults[0], adults[1 : STAFF + 1], adults[STAFF + 1 :]
    _compute_codes(session, [volunteer_person, *staff, *pending_staff])
    volunteer_user = users["volunteer"]
    assert volunteer_user is not None
    if volunteer_user.person_id is None:
        volunteer_user.person_id = volunteer_person
        actors["volunteer"] = actor_for(volunteer_user)
    _enterprises(session, actors, street_code, first_code, staff, pending_staff)
    _supplies(session, actors, grid.path, grid_code, resident_person_id)
    _doses(session)
    return True


def _compute_codes(session: Session, person_ids: list[int]) -> None:
    now = clock.now()
    pack = packs.catalog().in_force(series=PACK_SERIES, at=now).section(HEALTHCODE_SECTION)
    healthcode_service.recompute_for(session=session, person_ids=person_ids, now=now, pack=pack)


def _enterprises(
    session: Session,
    actors: dict[str, Actor],
    street_code: str,
    first_code: str,
    staff: list[int],
    pending_staff: list[int],
) -> None:
    company, bureau = actors["enterprise"], actors["industry"]
    common: dict[str, Any] = {
        "address": "芦淞区董家塅街道",
        "area_code": street_code,
        "contact_name": "王经理",
        "contact_phone": "13800000000",
    }
    rail = enterprise_service.register_enterprise(
        session=session,
        actor=company,
        enterprise_in=EnterpriseCreate(
            credit_code=first_code,
            name="株洲轨道装备示范有限公司",
            industry="rail_equipment",
            is_above_scale=True,
            park="董家塅高科园",
            **common,
        ),
    )
    garments = enterprise_service.register_enterprise(
        session=session,
        actor=company,
        enterprise_in=EnterpriseCreate(
            credit_code=_credit_code("92430203MA4D3MX02"),
            name="芦淞服饰示范厂",
            industry="garments",
            is_above_scale=False,
            park="芦淞服饰产业园",
            **common,
        ),
    )

    def plan(person_ids: list[int]) -> PlanFields:
        return PlanFields(
            is_closed_loop=True,
            is_point_to_point_commuting=True,
            dormitory_beds=len(person_ids),
            prevention_officer="李专员",
            prevention_officer_phone="13900000000",
            emergency_plan="发现阳性立即封闭车间，人员原地管控，配合转运和全员核酸。",
            staff_person_ids=person_ids,
        )

    application = enterprise_service.submit_application(
        session=session, actor=company, enterprise_id=rail.id, plan=plan(staff)
    )
    enterprise_service.review(
        session=session,
        actor=bureau,
        application_id=application.id,
        decision=ApplicationStatus.APPROVED,
        note="",
    )
    enterprise_service.assign_liaison(
        session=session, actor=bureau, application_id=application.id, liaison_user_id=bureau.user_id
    )
    now = clock.now()
    enterprise_actions.issue_whitelist_passes(
        session=session,
        actor=bureau,
        keys=passes.keys_from_spec(get_settings().code_signing_key),
        issue_in=WhitelistIssue(
            application_id=application.id,
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=14),
            route="建宁街道—董家塅高科园 点对点班车",
            sites=["董家塅高科园"],
        ),
    )
    reports.file_daily_report(
        session=session,
        actor=company,
        enterprise_id=rail.id,
        report_date=now.date(),
        staff_on_site=len(staff) - 3,
    )
    tickets.open_ticket(
        session=session,
        actor=company,
        ticket_in=TicketCreate(
            enterprise_id=rail.id,
            category=TicketCategory.LOGISTICS,
            description="轴承原材料货车在高速卡口无法下道，需货车通行证。",
        ),
    )
    enterprise_service.submit_application(
        session=session, actor=company, enterprise_id=garments.id, plan=plan(pending_staff)
    )


def _supplies(
    session: Session,
    actors: dict[str, Actor],
    grid_path: str,
    grid_code: str,
    resident_person_id: int | None,
) -> None:
    """Lock down a building of the demo grid and fill its households' requests."""
    resident_building = None
    if resident_person_id is not None:
        resident_building = session.scalar(
            select(Household.building_id)
            .join(Person, Person.household_id == Household.id)
            .where(Person.id == resident_person_id)
        )
    # Another building than the demo resident's when the grid has one (a small demo city may
    # have a single building in the grid: then the resident's is the one locked down).
    building_id = session.scalar(
        select(Household.building_id)
        .where(within_path(Household.area_path, grid_path))
        .order_by(Household.building_id == (resident_building or 0), Household.building_id)
        .limit(1)
    )
    building = session.get(Building, building_id) if building_id is not None else None
    if building is None:
        return
    officer = actors["district"]
    now = clock.now()
    designation = areas_service.designate(
        session=session,
        actor=officer,
        target_kind=TargetKind.BUILDING,
        target_id=building.id,
        unit=None,
        level=RiskLevel.HIGH,
        controls=["stay_home"],
        reason="示范：楼内发现阳性，足不出户",
        section=areas_service.section_for(pack_id=None, version=None, now=now),
    )
    areas_actions.confirm(session=session, actor=officer, designation_id=designation.id)
    households = list(
        session.scalars(
            select(Household)
            .where(Household.building_id == building.id)
            .order_by(Household.id)
            .limit(SUPPLY_HOUSEHOLDS)
        )
    )
    worker = actors["grid"]
    for index, household in enumerate(households):
        tags = 0
        for person_tags in session.scalars(
            select(Person.tags).where(Person.household_id == household.id)
        ):
            tags |= person_tags
        if index == 0:
            kind, need, detail = SupplyKind.MEDICAL_CARE, MedicalNeed.DIALYSIS, "周一三五透析"
        elif tags & (PersonTag.PREGNANT | PersonTag.CHRONIC_MEDICINE):
            kind, need, detail = SupplyKind.MEDICINE, MedicalNeed.CHRONIC_MEDICINE, "降压药"
        else:
            kind, need, detail = SupplyKind.FOOD, None, "米、面、蔬菜"
        logistics_service.request_supplies(
            session=session,
            actor=worker,
            request_in=SupplyRequestCreate(
                household_id=household.id, kind=kind, medical_need=need, detail=detail
            ),
        )
    if households:
        logistics_service.create_tasks(session=session, actor=worker, area_code=grid_code)


def _doses(session: Session) -> None:
    """Dose records for the residents (deterministic shares by age), inserted in bulk."""
    today = clock.now().date()
    rows: list[dict[str, Any]] = []
    dosed: set[int] = set()
    recorded_at = clock.now()
    for person_id, birth_date in session.execute(
        select(Person.id, Person.birth_date).where(
            Person.status == PersonStatus.ACTIVE, Person.birth_date.is_not(None)
        )
    ).tuples():
        assert birth_date is not None  # filtered in the query
        age = today.year - birth_date.year
        shares = next((s for floor, s in DOSE_SHARES if age >= floor), None)
        if shares is None:
            continue
        draw = (person_id * 2_654_435_761) % 100
        doses = sum(draw < share for share in shares)
        first = FIRST_DOSE_FROM + timedelta(days=person_id % 150)
        dates = (first, first + timedelta(days=28), first + timedelta(days=240))
        if doses:
            dosed.add(person_id)
        for number in range(1, doses + 1):
            rows.append(
                {
                    "person_id": person_id,
                    "product": "510",
                    "dose_number": number,
                    "administered_on": dates[number - 1],
                    "site": "社区卫生服务中心",
                    "lot_number": None,
                    "source": DoseSource.MANUAL,
                    "recorded_at": recorded_at,
                }
            )
        if len(rows) >= 20_000:
            session.execute(insert(DoseRecord), rows)
            rows = []
    if rows:
        session.execute(insert(DoseRecord), rows)
    levels.refresh(session=session, person_ids=dosed)
