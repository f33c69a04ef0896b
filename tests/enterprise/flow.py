"""An approved enterprise with staff, shared by the enterprise tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.config import Settings
from fangkong.core.scope import Actor
from fangkong.enterprise import passes, service
from fangkong.enterprise.enums import ApplicationStatus
from fangkong.enterprise.models import Enterprise, ResumptionApplication
from fangkong.enterprise.schemas import EnterpriseCreate, PlanFields
from fangkong.registry.models import Person
from tests.city import City
from tests.personas import JIANNING, LUSONG, ZHUZHOU, Personas

CREDIT_CODE = "91350100M000100Y43"
KEYS = passes.keys_from_spec(Settings().code_signing_key)


@dataclass
class Flow:
    bureau: Actor
    company: Actor
    checkpoint: Actor
    enterprise: Enterprise
    staff: list[Person]


def enterprise_in(**changes: object) -> EnterpriseCreate:
    values: dict[str, object] = {
        "credit_code": CREDIT_CODE,
        "name": "株洲轨道装备有限公司",
        "industry": "rail_equipment",
        "is_above_scale": True,
        "park": "董家塅高科园",
        "address": "芦淞区董家塅街道",
        "area_code": JIANNING,
        "contact_name": "王经理",
        "contact_phone": "13800000000",
    }
    values.update(changes)
    return EnterpriseCreate.model_validate(values)


def plan(staff: list[Person]) -> PlanFields:
    return PlanFields(
        is_closed_loop=True,
        is_point_to_point_commuting=True,
        dormitory_beds=120,
        prevention_officer="李专员",
        prevention_officer_phone="13900000000",
        emergency_plan="发现阳性立即封闭车间，转运并全员核酸。",
        staff_person_ids=[p.id for p in staff],
    )


def registered(session: Session, personas: Personas, staff_count: int = 3) -> Flow:
    bureau = actor_for(personas.user("lusong-industry", Role.INDUSTRY_BUREAU, LUSONG))
    company = actor_for(personas.user("rail-company", Role.ENTERPRISE, LUSONG))
    checkpoint = actor_for(personas.user("city-checkpoint", Role.CHECKPOINT, ZHUZHOU))
    enterprise = service.register_enterprise(
        session=session, actor=company, enterprise_in=enterprise_in()
    )
    city = City(session)
    household = city.household()
    staff = [city.person(household) for _ in range(staff_count)]
    return Flow(bureau, company, checkpoint, enterprise, staff)


def approved(
    session: Session, personas: Personas, staff_count: int = 3
) -> tuple[Flow, ResumptionApplication]:
    flow = registered(session, personas, staff_count)
    application = service.submit_application(
        session=session, actor=flow.company, enterprise_id=flow.enterprise.id, plan=plan(flow.staff)
    )
    service.review(
        session=session,
        actor=flow.bureau,
        application_id=application.id,
        decision=ApplicationStatus.APPROVED,
        note="",
    )
    return flow, application
