"""A small synthetic outbreak over three days (10–12 Nov 2022, Asia/Shanghai) in 芦淞区 and
荷塘区 of 株洲市: cases, tests, risk areas and isolation orders written straight into the domain
tables at known instants, so every figure of every day is known in advance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.areas.models import RiskDesignation
from fangkong.core.scope import Actor
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.models import Person
from fangkong.testing.models import ResultUpload, TestCampaign, Tube, TubeMember, TubeResult
from fangkong.tracing.models import Case, Contact, Investigation
from tests import places
from tests.personas import LUSONG, ZHUZHOU, Personas

LUSONG_PATH = "/43/4302/430203/"
HETANG_PATH = "/43/4302/430202/"
CITY_PATH = "/43/4302/"
DAY1, DAY2, DAY3 = date(2022, 11, 10), date(2022, 11, 11), date(2022, 11, 12)
NOW = datetime(2022, 11, 13, 4, 0, tzinfo=UTC)  # noon on 13 Nov in Zhuzhou


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 11, day, hour, minute, tzinfo=UTC)


def command_actor(personas: Personas, area_code: str = ZHUZHOU) -> Actor:
    return actor_for(personas.user(f"command-{area_code}", Role.COMMAND_CENTRE, area_code))


@dataclass
class Outbreak:
    people: dict[str, Person]
    cases: dict[str, Case]


def _case(
    session: Session,
    person: Person,
    *,
    kind: str,
    reported: datetime,
    status: str = "reported",
    updated: datetime | None = None,
    reclassified: datetime | None = None,
) -> Case:
    row = Case(
        person_id=person.id,
        active_person_id=None if status == "void" else person.id,
        area_path=person.area_path,
        kind=kind,
        status=status,
        detection_route="mass_round",
        reported_at=reported,
        reclassified_at=reclassified,
        created_at=reported,
        updated_at=updated or reported,
        outcome_at=updated if status in ("discharged", "died") else None,
    )
    session.add(row)
    session.flush()
    return row


def _tube(
    session: Session, barcode: str, path: str, people: list[Person], campaign: TestCampaign | None
) -> Tube:
    tube = Tube(
        barcode=barcode,
        campaign_id=campaign.id if campaign else None,
        area_path=path,
        pool_size=10,
        member_count=len(people),
        status="sealed",
        opened_at=utc(9, 23),
        sealed_at=utc(9, 23, 30),
    )
    session.add(tube)
    session.flush()
    session.add_all(
        TubeMember(tube_id=tube.id, person_id=p.id, sampled_at=utc(9, 23)) for p in people
    )
    session.flush()
    return tube


def _result(session: Session, tube: Tube, reported: datetime, key: str) -> None:
    upload = ResultUpload(
        content_sha256=f"{key:0>64}"[-64:],
        format="csv",
        filename=f"{key}.csv",
        uploaded_at=reported,
        accepted_count=1,
        stored_count=1,
        duplicate_count=0,
        unmatched_count=0,
        rejected_count=0,
        rejections=[],
    )
    session.add(upload)
    session.flush()
    session.add(
        TubeResult(
            idempotency_key=f"lab|{key}",
            upload_id=upload.id,
            tube_id=tube.id,
            tube_barcode=tube.barcode,
            lab_id="lab",
            message_id=key,
            result="not_detected",
            loinc_code="94500-6",
            ct_values={},
            collected_at=utc(9, 23),
            received_at=reported,
            reported_at=reported,
            stored_at=reported,
        )
    )
    session.flush()


def _designation(
    session: Session, path: str, name: str, *, status: str, since: datetime, updated: datetime
) -> None:
    session.add(
        RiskDesignation(
            target_kind="area",
            area_id=places.area(session, path.strip("/").split("/")[-1]).id,
            name=name,
            area_path=path,
            scope="place",
            level="high",
            designated_level="high",
            level_since=since.date(),
            controls=[],
            status=status,
            since=since,
            pack_id="cn-9",
            pack_version=1,
            created_at=since,
            updated_at=updated,
        )
    )
    session.flush()


def _order(
    session: Session,
    person: Person,
    *,
    kind: str,
    status: str,
    created: datetime,
    updated: datetime,
) -> None:
    session.add(
        IsolationOrder(
            person_id=person.id,
            area_path=person.area_path,
            category="close_contact",
            kind=kind,
            phase_index=0,
            anchor_at=created,
            phase_started_at=created,
            planned_end_at=created + timedelta(days=5),
            status=status,
            pack_id="cn-9",
            pack_version=1,
            rule_id="isolation.close_contact",
            created_at=created,
            updated_at=updated,
        )
    )
    session.flush()


def build(session: Session) -> Outbreak:
    """Day 1 (10 Nov): confirmed 芦淞 c1 and 荷塘 c4 (at 23:59 local), asymptomatic 芦淞 c2 and 荷塘
    c3 (at 01:00 local), a void case. Day 2: confirmed 芦淞 c6 (at 00:00 local), c2 reclassified
    as confirmed, c1 discharged. Day 3: asymptomatic 芦淞 c7, c3 released, c4 died."""
    names = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "t1", "t2", "t3", "h1", "h2", "h3", "k1"]
    paths = {"c3": HETANG_PATH, "c4": HETANG_PATH, "h1": HETANG_PATH, "h2": HETANG_PATH}
    people = {
        n: places.person(session, f"张{n}", area_path=paths.get(n, LUSONG_PATH)) for n in names
    }
    cases = {
        "c1": _case(
            session,
            people["c1"],
            kind="confirmed",
            reported=utc(10, 2),
            status="discharged",
            updated=utc(11, 10),
        ),
        "c2": _case(
            session,
            people["c2"],
            kind="confirmed",
            reported=utc(10, 3),
            status="in_hospital",
            reclassified=utc(11, 4),
        ),
        "c3": _case(
            session,
            people["c3"],
            kind="asymptomatic",
            reported=utc(9, 17),
            status="discharged",
            updated=utc(12, 5),
        ),
        "c4": _case(
            session,
            people["c4"],
            kind="confirmed",
            reported=utc(10, 15, 59),
            status="died",
            updated=utc(12, 6),
        ),
        "c5": _case(session, people["c5"], kind="confirmed", reported=utc(10, 4), status="void"),
        "c6": _case(
            session,
            people["c6"],
            kind="confirmed",
            reported=utc(10, 16),
            status="in_shelter_hospital",
        ),
        "c7": _case(session, people["c7"], kind="asymptomatic", reported=utc(12, 1)),
    }
    campaign = TestCampaign(
        name="芦淞区第1轮",
        area_id=places.area(session, LUSONG).id,
        area_path=LUSONG_PATH,
        starts_at=utc(9, 22),
        ends_at=utc(20, 10),
        status="open",
        max_pool_size=10,
        created_at=utc(9, 21),
    )
    session.add(campaign)
    session.flush()
    lusong_tube = _tube(
        session, "T1", LUSONG_PATH, [people[n] for n in ("t1", "t2", "t3")], campaign
    )
    _result(session, lusong_tube, utc(10, 5), "r1")
    _result(session, lusong_tube, utc(11, 5), "r1-retest")  # counted once, on its first day
    hetang_tube = _tube(session, "T2", HETANG_PATH, [people["h1"], people["h2"]], None)
    _result(session, hetang_tube, utc(11, 6), "r2")
    _tube(session, "T3", LUSONG_PATH, [people["c1"]], campaign)  # no result yet
    _designation(
        session,
        LUSONG_PATH,
        "芦淞区枫溪小区",
        status="lifted",
        since=utc(10, 8),
        updated=utc(12, 8),
    )
    _designation(
        session,
        HETANG_PATH,
        "荷塘区某小区",
        status="confirmed",
        since=utc(11, 8),
        updated=utc(11, 8),
    )
    _designation(
        session, LUSONG_PATH, "芦淞区提议", status="proposed", since=utc(10, 9), updated=utc(10, 9)
    )
    _order(
        session,
        people["h3"],
        kind="centralised",
        status="active",
        created=utc(10, 1),
        updated=utc(10, 1),
    )
    _order(
        session,
        people["h1"],
        kind="home_isolation",
        status="released",
        created=utc(10, 1),
        updated=utc(11, 10),
    )
    _order(
        session,
        people["h2"],
        kind="home_monitoring",
        status="active",
        created=utc(10, 1),
        updated=utc(10, 1),
    )
    investigation = Investigation(
        case_id=cases["c1"].id,
        area_path=LUSONG_PATH,
        status="draft",
        window_start=utc(7, 0),
        window_end=utc(10, 2),
        due_at=utc(11, 2),
        pack_id="cn-9",
        pack_version=1,
        opened_at=utc(10, 2),
        updated_at=utc(10, 2),
    )
    session.add(investigation)
    session.flush()
    session.add(
        Contact(
            investigation_id=investigation.id,
            case_id=cases["c1"].id,
            person_id=people["k1"].id,
            active_person_id=people["k1"].id,
            area_path=LUSONG_PATH,
            category="close_contact",
            status="identified",
            rule_ref="cn-9@1:contacts.close",
            last_exposure_at=utc(9, 12),
            due_at=utc(10, 14),
            identified_at=utc(10, 3),
            updated_at=utc(10, 3),
        )
    )
    session.flush()
    return Outbreak(people=people, cases=cases)
