"""Multi-step use cases of the tracing domain: cases from positive results, contact finding,
and confirming an investigation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict, NotFound
from fangkong.core.scope import Actor, within_path
from fangkong.db.transitions import transition
from fangkong.registry.models import Household, Person
from fangkong.testing.enums import LabResult
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing import companions, events, journeys, merging, separation, service
from fangkong.tracing.enums import (
    CaseKind,
    ContactBasis,
    DetectionRoute,
    InvestigationStatus,
    TrajectoryKind,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import (
    Case,
    Contact,
    Investigation,
    Journey,
    TrajectoryEntry,
)
from fangkong.tracing.rules import (
    ContactFinding,
    Evidence,
    Exposure,
    close_contacts,
    near_floor,
    secondary_contacts,
)
from fangkong.tracing.section import TracingSection
from fangkong.tracing.transport import transport_contacts

POSITIVE_RULE = "tracing.case_from_positive_result"


def open_cases_from_positive_results(
    *,
    session: Session,
    actor: Actor | None,
    since: datetime | None = None,
    pack_id: str | None = None,
) -> list[Case]:
    """Open a case for every single-person tube that tested positive (a tube with exactly one
    member: the result is that person's) and whose person has no live case yet. A tube of a
    test round makes a ``mass_round`` case. Idempotent: a second run opens nothing.

    Pooled positives (混阳管) are not cases: their members are re-sampled one by one first.
    ``since`` limits the search to results stored from then on; an ``actor`` limits it to
    people of their jurisdiction. ``pack_id`` names the pack the investigations run under
    (default: the national pack in force). The caller commits.
    """
    singles = (
        select(TubeMember.tube_id)
        .group_by(TubeMember.tube_id)
        .having(func.count(TubeMember.id) == 1)
        .subquery()
    )
    stmt = (
        select(TubeResult, Tube, TubeMember, Person)
        .join(Tube, Tube.id == TubeResult.tube_id)
        .join(singles, singles.c.tube_id == Tube.id)
        .join(TubeMember, TubeMember.tube_id == Tube.id)
        .join(Person, Person.id == TubeMember.person_id)
        .outerjoin(Case, Case.active_person_id == TubeMember.person_id)
        .where(TubeResult.result == str(LabResult.DETECTED), Case.id.is_(None))
        .order_by(TubeResult.reported_at, TubeResult.id)
    )
    if since is not None:
        stmt = stmt.where(TubeResult.stored_at >= since)
    if actor is not None:
        if actor.jurisdiction_path is None:
            return []
        stmt = stmt.where(within_path(Person.area_path, actor.jurisdiction_path))
    opened: list[Case] = []
    seen: set[int] = set()
    for result, tube, member, person in session.execute(stmt).tuples():
        if person.id in seen:  # two positive results for one person: one case
            continue
        seen.add(person.id)
        try:
            case = _case_from_result(session, actor, result, tube, member, person.id, pack_id)
        except Conflict as exc:
            if exc.code is not TracingErrorCode.CASE_PERSON_ALREADY_CASE:
                raise
            continue  # opened meanwhile by someone else (or another run): nothing to do
        opened.append(case)
    return opened


def _case_from_result(
    session: Session,
    actor: Actor | None,
    result: TubeResult,
    tube: Tube,
    member: TubeMember,
    person_id: int,
    pack_id: str | None,
) -> Case:
    return service.create_case(
        session=session,
        actor=actor,
        person_id=person_id,
        kind=CaseKind.ASYMPTOMATIC,  # until a clinician classifies it
        detection_route=DetectionRoute.MASS_ROUND
        if tube.campaign_id is not None
        else DetectionRoute.OTHER,
        reported_at=min(result.reported_at, clock.now()),
        sampled_at=member.sampled_at,
        source_ref=f"tube {tube.barcode}, result {result.id}",
        lab_result_id=result.id,
        pack_id=pack_id,
        rule_ref=POSITIVE_RULE,
    )


def _exposures(session: Session, investigation: Investigation, person_id: int) -> list[Exposure]:
    entries = service.trajectory(
        session=session, investigation_id=investigation.id, include_removed=False
    )
    return [
        Exposure(
            case_person_id=person_id,
            venue_id=entry.venue_id,
            start=entry.started_at,
            end=entry.ended_at or entry.started_at,
        )
        for entry in entries
        if entry.venue_id is not None and entry.started_at is not None
    ]


def gather_evidence(
    *, session: Session, investigation: Investigation, case: Case, section: TracingSection
) -> list[Evidence]:
    """Every candidate the trajectory and the registry give, before classification: household
    members, building neighbours (if the pack lists them), colleagues, fellow travellers on the
    case's journeys (under the pack's transport rule), and people who scanned the same place
    codes within the window widened by the pack's dwell allowance."""
    case_person = session.get(Person, case.person_id)
    assert case_person is not None
    entries = service.trajectory(
        session=session, investigation_id=investigation.id, include_removed=False
    )
    kinds = {entry.kind for entry in entries}
    until = investigation.window_end
    live = Person.status == "active"
    found: list[Evidence] = []
    criteria = section.close.criteria
    if case_person.household_id is not None and str(TrajectoryKind.HOUSEHOLD) in kinds:
        for (person_id,) in session.execute(
            select(Person.id).where(Person.household_id == case_person.household_id, live)
        ):
            found.append(
                Evidence(
                    person_id,
                    ContactBasis.HOUSEHOLD,
                    until,
                    household_id=case_person.household_id,
                )
            )
        home = session.get(Household, case_person.household_id)
        if home is not None and (
            ContactBasis.BUILDING_UNIT in criteria or ContactBasis.BUILDING_FLOOR in criteria
        ):
            neighbours = session.execute(
                select(Person.id, Household.id, Household.floor)
                .join(Household, Household.id == Person.household_id)
                .where(
                    Household.building_id == home.building_id,
                    Household.unit == home.unit,
                    Household.id != home.id,
                    live,
                )
            ).tuples()
            for person_id, household_id, floor in neighbours:
                if ContactBasis.BUILDING_FLOOR in criteria and near_floor(home.floor, floor):
                    basis = ContactBasis.BUILDING_FLOOR
                elif ContactBasis.BUILDING_UNIT in criteria:
                    basis = ContactBasis.BUILDING_UNIT
                else:
                    continue
                found.append(Evidence(person_id, basis, until, household_id=household_id))
    if case_person.workplace_id is not None and str(TrajectoryKind.WORKPLACE) in kinds:
        for (person_id,) in session.execute(
            select(Person.id).where(Person.workplace_id == case_person.workplace_id, live)
        ):
            found.append(
                Evidence(
                    person_id,
                    ContactBasis.WORKPLACE,
                    until,
                    workplace_id=case_person.workplace_id,
                )
            )
    if ContactBasis.TRANSPORT in criteria and section.transport is not None:
        found.extend(_journey_evidence(session, entries, section))
    exposures = _exposures(session, investigation, case.person_id)
    if exposures:
        for hit in service.contacts_for_exposures(
            session=session,
            exposures=exposures,
            dwell_seconds=int(section.close.dwell.total_seconds()),
        ):
            found.append(
                Evidence(
                    hit.contact_person_id,
                    ContactBasis.VENUE,
                    datetime.fromtimestamp(hit.overlap_start, UTC),
                    minutes=hit.duration_seconds // 60,
                    venue_id=hit.venue_id,
                )
            )
    return found


def _journey_evidence(
    session: Session, entries: list[TrajectoryEntry], section: TracingSection
) -> list[Evidence]:
    """Everyone on record aboard each journey of the trajectory, kept by the transport rule."""
    assert section.transport is not None
    found: list[Evidence] = []
    for entry in entries:
        if entry.journey_id is None:
            continue
        journey = session.get(Journey, entry.journey_id)
        assert journey is not None
        case_traveller = journeys.traveller(journey)
        found.extend(
            transport_contacts(
                journey=journeys.service_of(journey),
                case=case_traveller,
                others=[
                    journeys.traveller(other)
                    for other in journeys.aboard(session=session, journey=journey)
                ],
                rule=section.transport,
                at=journey.boarded_at or entry.started_at or journey.created_at,
            )
        )
    return found


def _secondary_evidence(
    session: Session, close: list[ContactFinding], section: TracingSection
) -> list[Evidence]:
    if section.secondary is None or not close:
        return []
    found: list[Evidence] = []
    homes: dict[int, int | None] = dict(
        session.execute(
            select(Person.id, Person.household_id).where(
                Person.id.in_([finding.person_id for finding in close]),
                Person.household_id.is_not(None),
            )
        )
        .tuples()
        .all()
    )
    exposure_by_person = {finding.person_id: finding.last_exposure_at for finding in close}
    if ContactBasis.VIA_CONTACT in section.secondary.criteria and homes:
        for person_id, household_id in session.execute(
            select(Person.id, Person.household_id).where(
                Person.household_id.in_(set(homes.values())), Person.status == "active"
            )
        ).tuples():
            for via, home in homes.items():
                if home == household_id and via != person_id:
                    found.append(
                        Evidence(
                            person_id,
                            ContactBasis.VIA_CONTACT,
                            exposure_by_person[via],
                            household_id=household_id,
                            via_person_id=via,
                        )
                    )
    return found


def find_contacts(*, session: Session, actor: Actor | None, investigation_id: int) -> list[Contact]:
    """Find, classify and store the contacts of an investigation's case (run on confirming the
    trajectory, or on demand). One live contact row per person across investigations: a person
    another investigation found already gets this investigation's link and evidence on the same
    row (see :mod:`fangkong.tracing.merging`). Running it again refreshes the evidence of
    contacts still identified, adds new ones and withdraws this investigation's finding of
    identified ones no longer found (closed, ``withdrawn``, when no other investigation still
    finds them); contacts already handed over are left as they are. A contact who is a case
    already is recorded, closed at once (``already_case``) and never handed to isolation."""
    if actor is not None:
        investigation = service.investigation_for_edit(
            session=session, actor=actor, investigation_id=investigation_id, draft_only=False
        )
    else:
        found_investigation = session.get(Investigation, investigation_id)
        if found_investigation is None:
            raise NotFound(TracingErrorCode.INVESTIGATION_NOT_FOUND, "no such investigation")
        investigation = found_investigation
    case = session.get(Case, investigation.case_id)
    assert case is not None
    section = service.section_for(
        pack_id=investigation.pack_id, version=investigation.pack_version, now=clock.now()
    )
    now = clock.now()
    # Each exposure ends where the contact and the case were separated (a hotel room, home
    # isolation, hospital): see ``rules.exposure_until``.
    evidence = separation.cap_at_separation(
        session=session,
        case=case,
        evidence=gather_evidence(
            session=session, investigation=investigation, case=case, section=section
        ),
    )
    close = close_contacts(
        case_person_id=case.person_id, evidence=evidence, section=section, now=now
    )
    secondary = secondary_contacts(
        case_person_id=case.person_id,
        close=close,
        evidence=_secondary_evidence(session, close, section),
        section=section,
        now=now,
    )
    findings = {finding.person_id: finding for finding in [*close, *secondary]}
    paths: dict[int, str] = (
        dict(
            session.execute(
                select(Person.id, Person.area_path).where(Person.id.in_(list(findings)))
            )
            .tuples()
            .all()
        )
        if findings
        else {}
    )
    cases: dict[int | None, int] = (
        dict(
            session.execute(
                select(Case.active_person_id, Case.id).where(
                    Case.active_person_id.in_(list(findings))
                )
            )
            .tuples()
            .all()
        )
        if findings
        else {}
    )
    merging.store_findings(
        session=session,
        actor=actor,
        investigation=investigation,
        case=case,
        section=section,
        findings=findings,
        paths=paths,
        cases=cases,
        now=now,
    )
    investigation.contacts_found_at = now
    investigation.updated_at = now
    session.flush()
    return service.contacts_of(session=session, investigation_id=investigation.id)


def confirm_investigation(
    *, session: Session, actor: Actor, investigation_id: int
) -> tuple[Investigation, list[Contact]]:
    """The epidemiologist confirms the trajectory (draft → confirmed); the contacts are found
    from it at once. The caller commits."""
    investigation = service.investigation_for_edit(
        session=session, actor=actor, investigation_id=investigation_id
    )
    before = events.investigation_snapshot(investigation)
    transition(
        session,
        investigation,
        expect={"status": str(InvestigationStatus.DRAFT)},
        conflict=Conflict(
            TracingErrorCode.INVESTIGATION_CONFIRMED, "the trajectory is confirmed already"
        ),
        status=str(InvestigationStatus.CONFIRMED),
        confirmed_at=clock.now(),
        confirmed_by_user_id=actor.user_id,
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.investigation.confirmed",
        subject_type="tracing_investigation",
        subject_id=investigation.id,
        before=before,
        after=events.investigation_snapshot(investigation),
    )
    contacts = find_contacts(session=session, actor=actor, investigation_id=investigation.id)
    companions.flag_companions(
        session=session, actor=actor, investigation=investigation, now=clock.now()
    )
    return investigation, contacts
