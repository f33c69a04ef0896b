"""Isolation hotels (集中隔离点) for the synthetic city, created through the isolation service.

How many rooms: the national requirement of 29 September 2021 that every place prepare
centralised isolation rooms at **no fewer than 20 per 10,000 residents** (NHC press conference,
Cui Gang; ``nhc-isolation-rooms-2021`` in docs/isolation.md). Which rooms: the design guide for
isolation sites (国卫办规划函〔2022〕255号) asks for mainly single rooms with a share of
multi-person rooms where minors and older people stay with a carer; here every fifth room holds
a family of three (the share is assumed). Each county-level district gets its rooms in hotels of
at most ``HOTEL_ROOMS`` rooms (assumed); the first hotel of a district is in use, the others are
the reserve (储备), opened when the bed forecast warns.

The plan is a pure function of the residents per district, so the same city always gets the
same hotels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.core.ids import new_token
from fangkong.core.scope import Actor, within_path
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import FacilityStatus
from fangkong.isolation.models import Facility
from fangkong.registry import service as registry_service
from fangkong.registry.enums import AreaLevel

ROOMS_PER_10K = 20
HOTEL_ROOMS = 40
FAMILY_ROOM_EVERY = 5
FAMILY_ROOM_BEDS = 3
# Hotel names: synthetic, from Zhuzhou's rivers, hills and old names (no real hotel is meant).
HOTEL_NAMES = ("湘江", "神农", "炎帝", "建宁", "凤凰", "云龙", "仙庾", "枫溪", "白关", "响石")
SEED_ACCOUNT = "city-isolation"


@dataclass(frozen=True)
class HotelPlan:
    district_code: str
    name: str
    status: FacilityStatus
    rooms: tuple[tuple[str, int], ...]  # (label, beds)


def plan_hotels(districts: Sequence[tuple[str, str, int]]) -> list[HotelPlan]:
    """Hotels for ``(code, name, residents)`` per district, in the order given."""
    plans = []
    for code, district_name, residents in districts:
        rooms = math.ceil(residents * ROOMS_PER_10K / 10_000)
        if rooms == 0:
            continue
        hotels = math.ceil(rooms / HOTEL_ROOMS)
        for index in range(hotels):
            size = rooms // hotels + (1 if index < rooms % hotels else 0)
            labels = tuple(
                (
                    f"{2 + n // 20}{n % 20 + 1:02d}",
                    FAMILY_ROOM_BEDS if n % FAMILY_ROOM_EVERY == FAMILY_ROOM_EVERY - 1 else 1,
                )
                for n in range(size)
            )
            short = HOTEL_NAMES[(int(code) + index) % len(HOTEL_NAMES)]
            plans.append(
                HotelPlan(
                    district_code=code,
                    name=f"{district_name}{short}宾馆集中隔离点",
                    status=FacilityStatus.IN_USE if index == 0 else FacilityStatus.RESERVE,
                    rooms=labels,
                )
            )
    return plans


def _seed_actor(session: Session, city_code: str) -> Actor:
    """The city's isolation manager account that registers the hotels (locked: no one signs in
    with it)."""
    user = accounts_service.get_by_username(session=session, username=SEED_ACCOUNT)
    if user is None:
        user = accounts_service.create_user(
            session=session,
            actor=None,
            username=SEED_ACCOUNT,
            password=new_token(),
            role=Role.ISOLATION_MANAGER,
            display_name=SEED_ACCOUNT,
            area_code=city_code,
        )
    return accounts_service.actor_for(user)


def seed_facilities(*, session: Session, city_code: str) -> list[Facility]:
    """Register the planned hotels of the city and their rooms through the isolation service
    (audited like an officer's entries); nothing when the city has a facility already. Returns
    the facilities created."""
    city = registry_service.get_by_code_or_raise(session=session, code=city_code)
    existing = session.scalar(
        select(func.count()).select_from(Facility).where(within_path(Facility.area_path, city.path))
    )
    if existing:
        return []
    districts = registry_service.list_under_level(
        session=session, path=city.path, level=AreaLevel.COUNTY
    )
    residents = registry_service.counts_by_child(session=session, children=districts)
    actor = _seed_actor(session, city_code)
    created = []
    for plan in plan_hotels(
        [(d.code, d.name, residents.get(d.path, (0, 0))[1]) for d in districts]
    ):
        facility = isolation_service.create_facility(
            session=session,
            actor=actor,
            name=plan.name,
            area_code=plan.district_code,
            status=plan.status,
        )
        for label, beds in plan.rooms:
            isolation_service.add_room(
                session=session, actor=actor, facility_id=facility.id, label=label, capacity=beds
            )
        created.append(facility)
    return created
