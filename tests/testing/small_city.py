"""A small synthetic round for the effects and monitoring tests.

Two compounds in 建宁街道 (芦淞区): compound A with buildings 1栋 (4 households) and 2栋 (2), and
compound B in 董家塅街道 with 1 building (2 households); every household holds 2 people, so 16
residents are required in a round over 芦淞区. Tubes are registered straight in the tables
(the sampling page is tested elsewhere), with sampling times given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from fangkong.registry.models import Building, Household, Person
from fangkong.testing.models import TestCampaign, Tube, TubeMember
from tests import places

T0 = datetime(2022, 11, 10, 0, 0, tzinfo=UTC)  # 08:00 in Zhuzhou
LUSONG_PATH = "/43/4302/430203/"


@dataclass
class SmallCity:
    campaign: TestCampaign
    buildings: dict[str, Building]
    people: dict[str, list[Person]] = field(default_factory=dict)  # building label → people

    def ids(self, label: str) -> list[int]:
        return [person.id for person in self.people[label]]


def build(session: Session, *, phones: bool = False) -> SmallCity:
    compound_a = places.compound(session, "荷花小区")
    compound_b = places.compound(session, "建设新村", township_code="430203004")
    buildings = {
        "A1": places.building(session, compound_a, "1栋"),
        "A2": places.building(session, compound_a, "2栋"),
        "B1": places.building(session, compound_b, "1栋"),
    }
    sizes = {"A1": 4, "A2": 2, "B1": 2}
    city = SmallCity(campaign=_campaign(session), buildings=buildings)
    for label, households in sizes.items():
        city.people[label] = []
        for number in range(households):
            home = Household(
                building_id=buildings[label].id,
                unit=1,
                floor=number + 1,
                room=f"{number + 1}01",
                area_path=buildings[label].area_path,
            )
            session.add(home)
            session.flush()
            for member in range(2):
                person = places.person(session, f"{label}-{number}-{member}", at=home)
                if phones:
                    person.phone_masked = f"138****{number}{member:03d}"
                city.people[label].append(person)
    session.flush()
    return city


def _campaign(session: Session) -> TestCampaign:
    lusong = places.area(session, "430203")
    campaign = TestCampaign(
        name="芦淞区第1轮",
        area_id=lusong.id,
        area_path=lusong.path,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=24),
        status="open",
        max_pool_size=10,
        rule_ref="cn-9@1#pool",
        created_at=T0,
    )
    session.add(campaign)
    session.flush()
    return campaign


def tube(
    session: Session,
    barcode: str,
    people: list[int],
    *,
    at: datetime,
    campaign_id: int | None,
    area_path: str = "/43/4302/430203/430203003/",
) -> Tube:
    row = Tube(
        barcode=barcode,
        campaign_id=campaign_id,
        area_path=area_path,
        pool_size=max(len(people), 1),
        member_count=len(people),
        status="sealed",
        opened_at=at,
        sealed_at=at,
    )
    session.add(row)
    session.flush()
    session.add_all(TubeMember(tube_id=row.id, person_id=p, sampled_at=at) for p in people)
    session.flush()
    return row
