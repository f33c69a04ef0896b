"""The platform steps a drill drives, in one place.

Every function here works only from what the platform stores (lab results, tubes, scans,
isolation orders, risk designations, the registry); none reads the epidemic model, and an
import contract in pyproject.toml forbids this module from importing ``fangkong.sim``.

Some steps the platform does not have yet as actions of its own; they are implemented here from
the public services that exist and are meant to be swapped for the real actions:

- ``new_cases``: a case is a person with a detected single-tube result (tracing's case model
  and ``open_cases_from_positive_results`` will replace it);
- ``contacts_of``: household members plus people who shared a venue with a case
  (``tracing.service.contacts_for_exposures``) in the look-back window (tracing's investigations
  will replace it);
- ``order_isolation``: close contacts get an isolation order under the pack's rule (isolation's
  transfer will place them);
- cases themselves are taken out of the community from the day they are found (hospital or
  fangcang: treatment is outside the platform), so ``isolated_people`` lists them as centrally
  isolated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.areas import actions as areas_actions
from fangkong.areas import jobs as areas_jobs
from fangkong.areas import service as areas_service
from fangkong.areas.enums import Basis, DesignationStatus, TargetKind
from fangkong.areas.models import RiskDesignation
from fangkong.areas.schemas import CasePlace, DayFactsIn
from fangkong.core import audit, clock
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.healthcode import service as healthcode_service
from fangkong.healthcode.enums import CaseStatus, ContactKind, Supervision
from fangkong.healthcode.facts import IsolationFacts, TracingFacts
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.service import FactGroup
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import Category, OrderStatus, PhaseKind
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import IsolationOrder
from fangkong.registry import bulk as registry_bulk
from fangkong.registry.models import Building, Household, Person
from fangkong.testing import actions as testing_actions
from fangkong.testing import service as testing_service
from fangkong.testing.enums import LabResult, ResultFormat, TubeStatus
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing import service as tracing_service
from fangkong.tracing.enums import ScanSource
from fangkong.tracing.models import PlaceScan
from fangkong.tracing.rules import Exposure

SCAN_BATCH = 5000
# Rounds of up to this many tubes go through the testing service tube by tube (as samplers'
# phones do); larger ones are written in bulk (``_sample_in_bulk``).
SERVICE_TUBES_MAX = 50
BULK_CHUNK = 5000


@dataclass(frozen=True)
class Case:
    """A person the platform knows as infected, from the first detected single-tube sample."""

    person_id: int
    sampled_at: datetime


@dataclass(frozen=True)
class Sampled:
    """A round's tubes: ``tubes`` maps each barcode to its members (person ids)."""

    campaign_id: int
    tubes: dict[str, list[int]] = field(default_factory=dict)


def record_scans(*, session: Session, scans: Sequence[tuple[int, int, datetime]]) -> int:
    """Store a day's place-code scans ``(person, venue, scanned_at)`` as the venues' gateway
    sends them.

    On PostgreSQL they go through ``tracing.service.record_scans`` (which checks each record and
    writes with COPY). On SQLite, where that path costs about 0.1 ms a scan and a 100,000-person
    drill sends some 40,000 scans a day, they are written in one multi-row insert in the form
    the ``place_scan`` table stores: the twin's scans name only registered people and venues and
    aware times, which is what the per-record checks would establish."""
    now = clock.now()
    if registry_bulk.dialect(session) == "postgresql":
        stored = 0
        rows = [
            {"person_id": p, "venue_id": v, "scanned_at": at, "source": ScanSource.APP.value}
            for p, v, at in scans
        ]
        for start in range(0, len(rows), SCAN_BATCH):
            stored += tracing_service.record_scans(
                session=session, scans=rows[start : start + SCAN_BATCH], max_batch=None
            ).stored
        return stored
    received = registry_bulk.timestamp(session=session, moment=now)
    moments = {at for _, _, at in scans}
    stamp = {at: registry_bulk.timestamp(session=session, moment=at) for at in moments}
    values = [(p, v, stamp[at], ScanSource.APP.value, received, None) for p, v, at in scans]
    raw: Any = session.connection().connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.executemany(
            "INSERT INTO place_scan (person_id, venue_id, scanned_at, source, received_at, "
            "recorded_by_user_id) VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
    finally:
        cursor.close()
    return len(values)


def sample_round(
    *,
    session: Session,
    actor: Actor,
    name: str,
    area_code: str,
    groups: Sequence[Sequence[int]],
    paths: Mapping[int, str],
    pool_size: int,
    rule_ref: str,
    duration: timedelta,
) -> Sampled:
    """Open a round over ``area_code`` and sample ``groups`` of people (e.g. one per risk area,
    in household order) into tubes of at most ``pool_size``, sealing each tube; ``paths`` gives
    each person's area path (the sampling site's area). Barcodes are ``R<round>-<n>``."""
    now = clock.now()
    campaign = testing_service.create_campaign(
        session=session,
        actor=actor,
        name=name,
        area_code=area_code,
        starts_at=now,
        ends_at=now + duration,
        max_pool_size=pool_size,
        rule_ref=rule_ref,
    )
    pools = [
        list(group[start : start + pool_size])
        for group in groups
        for start in range(0, len(group), pool_size)
    ]
    sampled = Sampled(campaign.id)
    if len(pools) <= SERVICE_TUBES_MAX:
        for members in pools:
            barcode = f"R{campaign.id}-{len(sampled.tubes) + 1}"
            testing_service.open_tube(
                session=session,
                actor=actor,
                barcode=barcode,
                area_path=paths[members[0]],
                pool_size=pool_size,
                campaign_id=campaign.id,
            )
            testing_service.add_members(
                session=session, actor=actor, barcode=barcode, person_ids=members
            )
            testing_service.seal_tube(session=session, actor=actor, barcode=barcode)
            sampled.tubes[barcode] = members
    else:
        _sample_in_bulk(session, actor, campaign.id, pools, paths, pool_size, sampled)
    testing_service.close_campaign(session=session, actor=actor, campaign_id=campaign.id)
    return sampled


def _sample_in_bulk(
    session: Session,
    actor: Actor,
    campaign_id: int,
    pools: Sequence[Sequence[int]],
    paths: Mapping[int, str],
    pool_size: int,
    sampled: Sampled,
) -> None:
    """A mass round's tubes in a few multi-row INSERTs, with one audit event for the round.

    The testing domain has no bulk sampling action yet; this writes the same rows its
    ``open_tube``/``add_members``/``seal_tube`` would (tubes sealed, members bound at the same
    moment), and is the place to call that action when it exists."""
    now = clock.now()
    for members in pools:
        sampled.tubes[f"R{campaign_id}-{len(sampled.tubes) + 1}"] = list(members)
    tube_rows = [
        {
            "barcode": barcode,
            "campaign_id": campaign_id,
            "area_path": paths[members[0]],
            "pool_size": pool_size,
            "member_count": len(members),
            "status": TubeStatus.SEALED.value,
            "opened_by_user_id": actor.user_id,
            "opened_at": now,
            "sealed_at": now,
        }
        for barcode, members in sampled.tubes.items()
    ]
    for start in range(0, len(tube_rows), BULK_CHUNK):
        session.execute(insert(Tube), tube_rows[start : start + BULK_CHUNK])
    tube_ids: dict[str, int] = {
        barcode: tube_id
        for barcode, tube_id in session.execute(
            select(Tube.barcode, Tube.id).where(Tube.campaign_id == campaign_id)
        )
    }
    member_rows = [
        {"tube_id": tube_ids[barcode], "person_id": person, "sampled_at": now}
        for barcode, members in sampled.tubes.items()
        for person in members
    ]
    for start in range(0, len(member_rows), BULK_CHUNK):
        session.execute(insert(TubeMember), member_rows[start : start + BULK_CHUNK])
    audit.record(
        session=session,
        actor=actor,
        action="testing.round_sampled",
        subject_type="test_campaign",
        subject_id=campaign_id,
        after={"tubes": len(tube_rows), "samples": len(member_rows), "pool_size": pool_size},
        occurred_at=now,
    )


def ingest_results(*, session: Session, filename: str, content: bytes) -> str:
    """Upload a lab's result file through the lab interface; returns the upload's summary."""
    upload, _ = testing_actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.CSV,
        filename=filename,
        content=content,
    )
    return upload.summary or ""


def _detected_since(session: Session, since: datetime, single: bool) -> list[tuple[int, datetime]]:
    stmt = (
        select(TubeMember.person_id, TubeResult.collected_at)
        .join(Tube, Tube.id == TubeResult.tube_id)
        .join(TubeMember, TubeMember.tube_id == Tube.id)
        .where(TubeResult.result == LabResult.DETECTED.value, TubeResult.stored_at > since)
        .where((Tube.pool_size == 1) if single else (Tube.pool_size > 1))
        .order_by(TubeMember.person_id, TubeResult.collected_at)
    )
    return [(person, at) for person, at in session.execute(stmt)]


def new_cases(*, session: Session, since: datetime, known: Iterable[int]) -> list[Case]:
    """People with a detected single-tube result stored after ``since`` who were not cases."""
    seen = set(known)
    cases = []
    for person, sampled_at in _detected_since(session, since, single=True):
        if person not in seen:
            seen.add(person)
            cases.append(Case(person, sampled_at))
    return cases


def positive_pool_members(*, session: Session, since: datetime) -> list[int]:
    """Members of pooled tubes found positive after ``since``: to be re-sampled one by one."""
    return sorted({person for person, _ in _detected_since(session, since, single=False)})


def contacts_of(
    *, session: Session, cases: Sequence[Case], lookback: timedelta
) -> dict[int, tuple[int, datetime]]:
    """Close contacts of ``cases``: ``{contact person: (case person, last exposure)}``.

    Household members (exposed until the case's sample) and everyone who shared a venue with a
    case, from the case's own scans in the ``lookback`` before the sample."""
    found: dict[int, tuple[int, datetime]] = {}

    def add(person: int, case: int, at: datetime) -> None:
        if person != case and (person not in found or found[person][1] < at):
            found[person] = (case, at)

    by_person = {case.person_id: case for case in cases}
    households: dict[int, int | None] = {
        person: household
        for person, household in session.execute(
            select(Person.id, Person.household_id).where(Person.id.in_(list(by_person)))
        )
    }
    members = session.execute(
        select(Person.household_id, Person.id).where(
            Person.household_id.in_([h for h in households.values() if h is not None])
        )
    ).all()
    household_of_case = {h: p for p, h in households.items() if h is not None}
    for household_id, person in members:
        case = by_person[household_of_case[household_id]]
        add(person, case.person_id, case.sampled_at)
    for case in cases:
        scans = session.execute(
            select(PlaceScan.venue_id, PlaceScan.scanned_at).where(
                PlaceScan.person_id == case.person_id,
                PlaceScan.scanned_at >= case.sampled_at - lookback,
                PlaceScan.scanned_at <= case.sampled_at,
            )
        ).all()
        exposures = [Exposure(case.person_id, venue, at, at) for venue, at in scans]
        if not exposures:
            continue
        for contact in tracing_service.contacts_for_exposures(session=session, exposures=exposures):
            last = datetime.fromtimestamp(contact.last_scan, case.sampled_at.tzinfo)
            add(contact.contact_person_id, case.person_id, min(last, case.sampled_at))
    return found


def order_isolation(
    *,
    session: Session,
    actor: Actor,
    contacts: Mapping[int, datetime],
    pack_id: str,
    pack_version: int,
) -> list[int]:
    """Order close contacts without an active order into isolation under the pack's rule;
    returns the people newly ordered (none when the pack has no close-contact rule)."""
    now = clock.now()
    section = isolation_service.section_for(pack_id=pack_id, version=pack_version, now=now)
    already = set(
        session.scalars(
            select(IsolationOrder.person_id).where(
                IsolationOrder.status == OrderStatus.ACTIVE.value,
                IsolationOrder.planned_end_at > now,
                IsolationOrder.person_id.in_(list(contacts)),
            )
        )
    )
    created = []
    for person in sorted(contacts):
        if person in already:
            continue
        try:
            isolation_service.create_order(
                session=session,
                actor=actor,
                person_id=person,
                category=Category.CLOSE_CONTACT,
                last_exposure_at=min(contacts[person], now),
                section=section,
            )
        except FangkongError as error:
            if error.code == IsolationErrorCode.CATEGORY_NOT_IN_PACK:
                break  # the pack has no rule for close contacts: nobody is ordered
            raise
        created.append(person)
    return created


@dataclass(frozen=True)
class Restrictions:
    """What the platform restricts today: people by kind of isolation, places under controls."""

    centrally: list[int]
    at_home: list[int]
    compounds: list[int]
    buildings: list[int]


def restrictions(*, session: Session, cases: Iterable[int]) -> Restrictions:
    """People in isolation orders in force now (by the phase's kind) and cases; compounds and
    buildings under a confirmed risk designation."""
    now = clock.now()
    orders = session.execute(
        select(IsolationOrder.person_id, IsolationOrder.kind).where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.phase_started_at <= now,
            IsolationOrder.planned_end_at > now,
        )
    ).all()
    centrally = set(cases) | {p for p, kind in orders if kind == PhaseKind.CENTRALISED.value}
    at_home = {p for p, kind in orders if kind != PhaseKind.CENTRALISED.value} - centrally
    places = session.execute(
        select(
            RiskDesignation.target_kind, RiskDesignation.compound_id, RiskDesignation.building_id
        ).where(RiskDesignation.status == DesignationStatus.CONFIRMED.value)
    ).all()
    compounds = {c for kind, c, _ in places if kind == TargetKind.COMPOUND.value and c}
    buildings = {b for kind, _, b in places if kind != TargetKind.COMPOUND.value and b}
    return Restrictions(sorted(centrally), sorted(at_home), sorted(compounds), sorted(buildings))


def propose_and_confirm_areas(
    *, session: Session, officer: Actor, cases: Sequence[Case], pack_id: str, pack_version: int
) -> list[int]:
    """Risk areas the pack draws from the cases' homes, each confirmed by the officer."""
    rows = session.execute(
        select(Person.id, Person.area_path, Building.compound_id, Building.id)
        .join(Household, Household.id == Person.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Person.id.in_([case.person_id for case in cases]))
    ).all()
    places = [
        CasePlace(
            case_id=person, basis=Basis.RESIDENCE, area_path=path,
            compound_id=compound, building_id=building,
        )
        for person, path, compound, building in rows
    ]  # fmt: skip
    section = areas_service.section_for(pack_id=pack_id, version=pack_version, now=clock.now())
    created = areas_service.propose_from_cases(session=session, places=places, section=section)
    for designation in created:
        areas_actions.confirm(session=session, actor=officer, designation_id=designation.id)
    return [designation.id for designation in created]


def record_area_days(
    *, session: Session, officer: Actor, cases_today: Sequence[Case], rounds: Mapping[int, bool]
) -> int:
    """The officer files today's facts for every confirmed designation: new cases living there,
    and whether a round was held there (``rounds[designation] = all negative``)."""
    today = clock.now().date()
    homes = session.execute(
        select(Building.compound_id, Building.id)
        .join(Household, Household.building_id == Building.id)
        .join(Person, Person.household_id == Household.id)
        .where(Person.id.in_([case.person_id for case in cases_today]))
    ).all()
    designations = session.scalars(
        select(RiskDesignation).where(RiskDesignation.status == DesignationStatus.CONFIRMED.value)
    ).all()
    for designation in designations:
        new = sum(
            building == designation.building_id
            if designation.building_id is not None
            else compound == designation.compound_id
            for compound, building in homes
        )
        held = designation.id in rounds
        areas_actions.record_day(
            session=session,
            actor=officer,
            designation_id=designation.id,
            facts=DayFactsIn(
                day=today,
                new_infections=new,
                rounds=int(held),
                negative_rounds=int(held and rounds[designation.id]),
                open_cases=new,
            ),
        )
    return len(designations)


def evaluate_areas(*, session: Session) -> areas_jobs.EvaluationReport:
    return areas_jobs.run_daily_evaluation(session=session)


def designation_residents(*, session: Session) -> dict[int, list[int]]:
    """Residents of every confirmed compound, building or unit designation, in household order
    (for rounds in risk areas)."""
    confirmed = RiskDesignation.status == DesignationStatus.CONFIRMED.value
    by_compound = (
        select(RiskDesignation.id, Person.household_id, Person.id)
        .join(Building, Building.compound_id == RiskDesignation.compound_id)
        .join(Household, Household.building_id == Building.id)
        .join(Person, Person.household_id == Household.id)
        .where(confirmed, RiskDesignation.target_kind == TargetKind.COMPOUND.value)
    )
    by_building = (
        select(RiskDesignation.id, Person.household_id, Person.id)
        .join(Household, Household.building_id == RiskDesignation.building_id)
        .join(Person, Person.household_id == Household.id)
        .where(
            confirmed,
            RiskDesignation.target_kind.in_([TargetKind.BUILDING.value, TargetKind.UNIT.value]),
            RiskDesignation.unit.is_(None) | (Household.unit == RiskDesignation.unit),
        )
    )
    rows = sorted(
        (tuple(row) for stmt in (by_compound, by_building) for row in session.execute(stmt)),
    )
    out: dict[int, list[int]] = {}
    for designation, _, person in rows:
        out.setdefault(designation, []).append(person)
    return out


def recompute_codes(
    *,
    session: Session,
    person_ids: Sequence[int],
    pack: HealthCodeSection,
    cases: Mapping[int, datetime],
    contacts: Mapping[int, datetime],
) -> int:
    """Recompute the health codes of ``person_ids`` from case, contact and isolation facts;
    returns how many codes changed. (Providers of the domains will replace the two below.)"""

    def tracing_facts(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, FactGroup]:
        out: dict[int, FactGroup] = {}
        for person in person_ids:
            if person in cases:
                out[person] = TracingFacts(
                    case_status=CaseStatus.CONFIRMED, case_status_since=cases[person]
                )
            elif person in contacts:
                out[person] = TracingFacts(
                    contact=ContactKind.CLOSE, last_exposure_at=contacts[person]
                )
        return out

    def isolation_facts(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, FactGroup]:
        rows = session.execute(
            select(IsolationOrder.person_id, IsolationOrder.kind, IsolationOrder.phase_started_at)
            .where(
                IsolationOrder.status == OrderStatus.ACTIVE.value,
                IsolationOrder.planned_end_at > now,
                IsolationOrder.person_id.in_(list(person_ids)),
            )
            .order_by(IsolationOrder.id)
        ).all()
        kinds = {
            PhaseKind.CENTRALISED.value: Supervision.CENTRALISED_ISOLATION,
            PhaseKind.HOME_ISOLATION.value: Supervision.HOME_ISOLATION,
            PhaseKind.HOME_MONITORING.value: Supervision.HEALTH_MONITORING,
        }
        return {
            person: IsolationFacts(supervision=kinds[kind], supervision_since=since)
            for person, kind, since in rows
        }

    result = healthcode_service.recompute_for(
        session=session,
        person_ids=person_ids,
        now=clock.now(),
        pack=pack,
        providers=(tracing_facts, isolation_facts),
    )
    return len(result.changed)
