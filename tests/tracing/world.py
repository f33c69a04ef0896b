"""A small outbreak for the case, investigation and contact tests: a case's home, workplace
and market visits, and the people around them, all in 芦淞区 unless said otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.scope import Actor
from fangkong.registry.models import Household, Person, Venue, Workplace
from fangkong.testing.enums import CampaignStatus, LabResult, TubeStatus
from fangkong.testing.models import ResultUpload, TestCampaign, Tube, TubeMember, TubeResult
from fangkong.tracing import service
from fangkong.tracing.enums import CaseKind, DetectionRoute
from fangkong.tracing.models import Case
from tests import places
from tests.personas import HETANG, LUSONG, Personas

# 9 Nov 2022: the 9th edition (cn-9) is the national pack in force.
NOW = datetime(2022, 11, 9, 12, 0, tzinfo=UTC)
SAMPLED = datetime(2022, 11, 8, 1, 30, tzinfo=UTC)
LUSONG_PATH = "/43/4302/430203/"
HETANG_PATH = "/43/4302/430202/"


def epidemiologist(personas: Personas, area_code: str = LUSONG) -> Actor:
    return actor_for(personas.user(f"epi-{area_code}", Role.EPIDEMIOLOGIST, area_code))


@dataclass
class World:
    case_person: Person
    home: Household
    housemates: list[Person]
    colleague: Person
    workplace: Workplace
    market: Venue
    clinic: Venue
    shopper: Person  # at the market 10 minutes after the case
    shopper_spouse: Person  # lives with the shopper: a secondary contact under cn-9
    late_shopper: Person  # at the market 3 hours after the case: not a contact
    neighbour: Person  # same unit, floor above: a contact only where the pack says so


def build(session: Session) -> World:
    compound = places.compound(session, "枫溪小区")
    building = places.building(session, compound, "3栋")
    home = places.household(session, building, room="302")
    upstairs = Household(
        building_id=building.id, unit=1, floor=4, room="402", area_path=building.area_path
    )
    elsewhere = places.household(
        session, places.building(session, places.compound(session, "荷花园"), "1栋"), "101"
    )
    session.add(upstairs)
    workplace = Workplace(name="芦淞服装厂", kind="enterprise", area_path=LUSONG_PATH)
    market = Venue(name="芦淞服装城", kind="market", area_path=LUSONG_PATH)
    clinic = Venue(name="社区卫生服务中心", kind="clinic", area_path=LUSONG_PATH)
    session.add_all([workplace, market, clinic])
    session.flush()
    case_person = places.person(session, "张病例", at=home)
    housemates = [places.person(session, name, at=home) for name in ("张妻", "张子")]
    colleague = places.person(session, "李同事", area_path=HETANG_PATH)
    case_person.workplace_id = workplace.id
    colleague.workplace_id = workplace.id
    shopper = places.person(session, "王顾客", at=elsewhere)
    shopper_spouse = places.person(session, "王配偶", at=elsewhere)
    late_shopper = places.person(session, "赵晚到", area_path=LUSONG_PATH)
    neighbour = places.person(session, "楼上邻居", at=upstairs)
    session.flush()
    visit = SAMPLED - timedelta(hours=20)  # inside the look-back window
    scans = [
        (case_person.id, market.id, visit),
        (shopper.id, market.id, visit + timedelta(minutes=10)),
        (late_shopper.id, market.id, visit + timedelta(hours=3)),
        (case_person.id, clinic.id, SAMPLED - timedelta(days=5)),  # before the window
    ]
    with use_clock(ManualClock(NOW)):
        stored = service.record_scans(
            session=session,
            scans=[{"person_id": p, "venue_id": v, "scanned_at": t} for p, v, t in scans],
        )
    assert stored.rejected == []
    return World(
        case_person=case_person,
        home=home,
        housemates=housemates,
        colleague=colleague,
        workplace=workplace,
        market=market,
        clinic=clinic,
        shopper=shopper,
        shopper_spouse=shopper_spouse,
        late_shopper=late_shopper,
        neighbour=neighbour,
    )


def open_case(
    session: Session,
    actor: Actor | None,
    person: Person,
    *,
    kind: CaseKind = CaseKind.ASYMPTOMATIC,
    onset: date | None = None,
    pack_id: str | None = None,
) -> Case:
    with use_clock(ManualClock(NOW)):
        return service.create_case(
            session=session,
            actor=actor,
            person_id=person.id,
            kind=kind,
            detection_route=DetectionRoute.FEVER_CLINIC,
            sampled_at=SAMPLED,
            reported_at=NOW - timedelta(hours=2),
            onset_date=onset,
            pack_id=pack_id,
            rule_ref=None if actor else "test",
        )


def positive_tube(
    session: Session,
    people: list[Person],
    *,
    barcode: str,
    result: LabResult = LabResult.DETECTED,
    campaign: bool = True,
    sampled_at: datetime = SAMPLED,
) -> TubeResult:
    """A sealed tube of ``people`` with a lab result, stored as the testing domain stores it."""
    area = places.area(session, LUSONG)
    campaign_id = None
    if campaign:
        round_ = TestCampaign(
            name=f"第{barcode}轮",
            area_id=area.id,
            area_path=area.path,
            starts_at=SAMPLED - timedelta(hours=2),
            ends_at=SAMPLED + timedelta(hours=10),
            status=str(CampaignStatus.OPEN),
            max_pool_size=10,
            created_at=SAMPLED - timedelta(hours=3),
        )
        session.add(round_)
        session.flush()
        campaign_id = round_.id
    tube = Tube(
        barcode=barcode,
        campaign_id=campaign_id,
        area_path=area.path,
        pool_size=10,
        member_count=len(people),
        status=str(TubeStatus.SEALED),
        opened_at=SAMPLED,
        sealed_at=SAMPLED + timedelta(minutes=20),
    )
    session.add(tube)
    session.flush()
    session.add_all(
        TubeMember(tube_id=tube.id, person_id=person.id, sampled_at=sampled_at) for person in people
    )
    upload = ResultUpload(
        content_sha256=f"{barcode:0>64}"[-64:],
        format="csv",
        filename=f"{barcode}.csv",
        uploaded_at=NOW - timedelta(hours=3),
        accepted_count=1,
        stored_count=1,
        duplicate_count=0,
        unmatched_count=0,
        rejected_count=0,
        rejections=[],
    )
    session.add(upload)
    session.flush()
    row = TubeResult(
        idempotency_key=f"lab|{barcode}",
        upload_id=upload.id,
        tube_id=tube.id,
        tube_barcode=barcode,
        lab_id="lab",
        message_id=barcode,
        result=str(result),
        loinc_code="94500-6",
        ct_values={"ORF1ab": 28.5},
        collected_at=SAMPLED,
        received_at=SAMPLED + timedelta(hours=2),
        reported_at=NOW - timedelta(hours=3),
        stored_at=NOW - timedelta(hours=3),
    )
    session.add(row)
    session.flush()
    return row


__all__ = ["HETANG", "LUSONG"]
