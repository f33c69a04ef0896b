"""Investigations: the trajectory pulled from scans and the registry, the epidemiologist's
edits, confirmation, and refusals (outside the jurisdiction, after confirmation, bad entries)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.testing.enums import LabResult
from fangkong.tracing import actions, service
from fangkong.tracing.enums import TrajectoryKind
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Investigation
from tests.authz import snapshot
from tests.personas import HETANG, Personas
from tests.tracing.world import (
    NOW,
    SAMPLED,
    World,
    build,
    epidemiologist,
    open_case,
    positive_tube,
)


def opened(session: Session, personas: Personas) -> tuple[World, Investigation]:
    world = build(session)
    case = open_case(session, epidemiologist(personas), world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    return world, investigation


def test_the_trajectory_holds_the_scans_in_the_window_home_and_workplace(
    session: Session, personas: Personas
) -> None:
    world, investigation = opened(session, personas)
    entries = service.trajectory(session=session, investigation_id=investigation.id)
    assert [
        (e.kind, e.source, e.venue_id, e.household_id, e.workplace_id, e.started_at)
        for e in entries
    ] == [
        ("household", "auto", None, world.home.id, None, investigation.window_start),
        ("workplace", "auto", None, None, world.workplace.id, investigation.window_start),
        ("scan", "auto", world.market.id, None, None, SAMPLED - timedelta(hours=20)),
    ]  # the clinic scan 5 days before sampling lies outside the 2-day window


def test_the_epidemiologist_adds_edits_and_strikes_entries_and_a_pull_does_not_undo_it(
    session: Session, personas: Personas
) -> None:
    world, investigation = opened(session, personas)
    actor = epidemiologist(personas)
    with use_clock(ManualClock(NOW)):
        bus = service.add_trajectory_entry(
            session=session,
            actor=actor,
            investigation_id=investigation.id,
            kind=TrajectoryKind.TRANSPORT,
            started_at=SAMPLED - timedelta(hours=30),
            ended_at=SAMPLED - timedelta(hours=29, minutes=30),
            description="T2路公交",
        )
        clinic = service.add_trajectory_entry(
            session=session,
            actor=actor,
            investigation_id=investigation.id,
            kind=TrajectoryKind.PLACE,
            venue_id=world.clinic.id,
            started_at=SAMPLED - timedelta(hours=10),
        )
        service.edit_trajectory_entry(
            session=session,
            actor=actor,
            investigation_id=investigation.id,
            entry_id=clinic.id,
            started_at=SAMPLED - timedelta(hours=10),
            ended_at=SAMPLED - timedelta(hours=9),
        )
        [scan] = [
            e
            for e in service.trajectory(session=session, investigation_id=investigation.id)
            if e.kind == "scan"
        ]
        service.set_entry_removed(
            session=session,
            actor=actor,
            investigation_id=investigation.id,
            entry_id=scan.id,
            removed=True,
            reason="the phone was lent to a neighbour",
        )
        person = session.get(type(world.case_person), world.case_person.id)
        assert person is not None
        added = service.pull_trajectory(session=session, investigation=investigation, person=person)
    assert added == 0
    kept = service.trajectory(
        session=session, investigation_id=investigation.id, include_removed=False
    )
    assert [(e.kind, e.source, e.description, e.venue_id) for e in kept] == [
        ("household", "auto", None, None),
        ("workplace", "auto", None, None),
        ("transport", "manual", "T2路公交", None),
        ("place", "manual", None, world.clinic.id),
    ]
    assert clinic.ended_at == SAMPLED - timedelta(hours=9)
    assert bus.created_by_user_id == actor.user_id


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (
            {"kind": TrajectoryKind.PLACE, "started_at": SAMPLED},
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
        ),
        (
            {
                "kind": TrajectoryKind.PLACE,
                "description": "菜市场",
                "started_at": SAMPLED,
                "ended_at": SAMPLED - timedelta(minutes=1),
            },
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
        ),
        (
            {"kind": TrajectoryKind.SCAN, "description": "x", "started_at": SAMPLED},
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
        ),
        (
            {"kind": TrajectoryKind.PLACE, "venue_id": 999_999, "started_at": SAMPLED},
            TracingErrorCode.TRAJECTORY_UNKNOWN_VENUE,
        ),
        (
            {
                "kind": TrajectoryKind.PLACE,
                "description": "菜市场",
                "started_at": NOW + timedelta(days=1),
            },
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
        ),
    ],
)
def test_a_bad_entry_is_refused_with_its_code(
    session: Session,
    personas: Personas,
    arguments: dict[str, object],
    code: TracingErrorCode,
) -> None:
    _, investigation = opened(session, personas)
    before = snapshot(session)
    with use_clock(ManualClock(NOW)), pytest.raises(FangkongError) as refused:
        service.add_trajectory_entry(
            session=session,
            actor=epidemiologist(personas),
            investigation_id=investigation.id,
            **arguments,  # type: ignore[arg-type]
        )
    assert refused.value.code is code
    assert snapshot(session) == before


def test_an_edit_outside_the_investigators_jurisdiction_is_refused(
    session: Session, personas: Personas
) -> None:
    _, investigation = opened(session, personas)
    outsider = epidemiologist(personas, HETANG)
    before = snapshot(session)
    with use_clock(ManualClock(NOW)), pytest.raises(FangkongError) as refused:
        service.add_trajectory_entry(
            session=session,
            actor=outsider,
            investigation_id=investigation.id,
            kind=TrajectoryKind.PLACE,
            description="菜市场",
            started_at=SAMPLED,
        )
    assert (refused.value.code, refused.value.status) == (
        TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION,
        403,
    )
    with pytest.raises(FangkongError) as confirm_refused:
        actions.confirm_investigation(
            session=session, actor=outsider, investigation_id=investigation.id
        )
    assert confirm_refused.value.code is TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION
    assert snapshot(session) == before


def test_a_confirmed_trajectory_is_closed_to_edits(session: Session, personas: Personas) -> None:
    _, investigation = opened(session, personas)
    actor = epidemiologist(personas)
    with use_clock(ManualClock(NOW)):
        actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
        assert (investigation.status, investigation.confirmed_at) == ("confirmed", NOW)
        with pytest.raises(FangkongError) as refused:
            service.add_trajectory_entry(
                session=session,
                actor=actor,
                investigation_id=investigation.id,
                kind=TrajectoryKind.PLACE,
                description="菜市场",
                started_at=SAMPLED,
            )
        with pytest.raises(FangkongError) as twice:
            actions.confirm_investigation(
                session=session, actor=actor, investigation_id=investigation.id
            )
    assert refused.value.code is TracingErrorCode.INVESTIGATION_CONFIRMED
    assert twice.value.code is TracingErrorCode.INVESTIGATION_CONFIRMED


def test_a_serially_screened_case_is_traced_from_the_last_negative_sample(
    session: Session,
) -> None:
    world = build(session)
    # 荷塘 colleague and the case share yesterday's negative pool; the neighbour's last
    # negative is five days old, older than the usual two-day window.
    yesterday = SAMPLED - timedelta(days=1)
    positive_tube(
        session,
        [world.case_person, world.colleague],
        barcode="N0001",
        result=LabResult.NOT_DETECTED,
        sampled_at=yesterday,
    )
    positive_tube(
        session,
        [world.neighbour],
        barcode="N0002",
        result=LabResult.NOT_DETECTED,
        sampled_at=SAMPLED - timedelta(days=5),
    )
    positive_tube(session, [world.case_person], barcode="P0001")
    positive_tube(session, [world.neighbour], barcode="P0002")
    with use_clock(ManualClock(NOW)):
        opened = actions.open_cases_from_positive_results(session=session, actor=None)
    windows = {
        case.person_id: service.investigation_of_case(session=session, case_id=case.id)
        for case in opened
    }
    case_window = windows[world.case_person.id]
    neighbour_window = windows[world.neighbour.id]
    assert case_window is not None and neighbour_window is not None
    assert case_window.window_start == yesterday
    assert neighbour_window.window_start == SAMPLED - timedelta(days=2)
    # the market scan 20 hours before sampling is still inside the shorter window
    kinds = [e.kind for e in service.trajectory(session=session, investigation_id=case_window.id)]
    assert kinds == ["household", "workplace", "scan"]
