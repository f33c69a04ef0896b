"""Queries and state changes of the testing domain: result uploads and sampling tubes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor
from fangkong.registry import service as registry_service
from fangkong.testing import summary
from fangkong.testing.enums import AlertStatus, CampaignStatus, TubeStatus
from fangkong.testing.errors import TestingError, TestingErrorCode
from fangkong.testing.formats.records import RecordRefused, check_tube_barcode
from fangkong.testing.models import (
    Alert,
    ResultUpload,
    TestCampaign,
    Tube,
    TubeMember,
    TubeResult,
)


def get_upload_by_digest(*, session: Session, content_sha256: str) -> ResultUpload | None:
    return session.scalars(
        select(ResultUpload).where(ResultUpload.content_sha256 == content_sha256)
    ).one_or_none()


def list_results_for_tube(*, session: Session, barcode: str) -> list[TubeResult]:
    return list(
        session.scalars(
            select(TubeResult)
            .where(TubeResult.tube_barcode == barcode)
            .order_by(TubeResult.reported_at, TubeResult.id)
        )
    )


# --- Sampling: tubes and the people in them -------------------------------------------------

MAX_POOL_SIZE = 50  # a hard technical bound; the policy cap (10 or 20) comes from the rule pack


def get_tube_by_barcode(*, session: Session, barcode: str) -> Tube | None:
    return session.scalars(select(Tube).where(Tube.barcode == barcode)).one_or_none()


def get_tube_or_raise(*, session: Session, barcode: str) -> Tube:
    tube = get_tube_by_barcode(session=session, barcode=barcode)
    if tube is None:
        raise NotFound(TestingErrorCode.TUBE_NOT_FOUND, f"no tube {barcode}", field="barcode")
    return tube


def create_campaign(
    *,
    session: Session,
    actor: Actor,
    name: str,
    area_code: str,
    starts_at: datetime,
    ends_at: datetime,
    max_pool_size: int,
    rule_ref: str | None,
) -> TestCampaign:
    """Start a test round over an area subtree inside the actor's jurisdiction.

    ``max_pool_size`` is the policy cap for the round's tubes and ``rule_ref`` the rule pack
    entry it comes from (e.g. ``cn-9/4.2`` for 10-in-1 in a controlled zone).
    """
    area = registry_service.get_by_code_or_raise(session=session, code=area_code)
    actor.require_path(area.path)
    if ends_at <= starts_at:
        raise TestingError(
            TestingErrorCode.CAMPAIGN_WINDOW_INVALID,
            "the round ends before it starts",
            field="ends_at",
        )
    if not 1 <= max_pool_size <= MAX_POOL_SIZE:
        raise TestingError(
            TestingErrorCode.POOL_SIZE_INVALID,
            f"a tube holds 1 to {MAX_POOL_SIZE} people",
            field="max_pool_size",
        )
    now = clock.now()
    campaign = TestCampaign(
        name=name,
        area_id=area.id,
        area_path=area.path,
        starts_at=starts_at,
        ends_at=ends_at,
        status=CampaignStatus.OPEN.value,
        max_pool_size=max_pool_size,
        rule_ref=rule_ref,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="testing.campaign_created",
        subject_type="test_campaign",
        subject_id=campaign.id,
        after={"name": name, "area": area_code, "max_pool_size": max_pool_size},
        rule_ref=rule_ref,
        occurred_at=now,
    )
    return campaign


def close_campaign(*, session: Session, actor: Actor, campaign_id: int) -> TestCampaign:
    """End a round (open → closed, atomically): no more tubes may be opened in it."""
    campaign = session.get(TestCampaign, campaign_id)
    if campaign is None:
        raise NotFound(TestingErrorCode.CAMPAIGN_NOT_FOUND, "no such round", field="campaign_id")
    actor.require_path(campaign.area_path)
    closed = session.execute(
        update(TestCampaign)
        .where(TestCampaign.id == campaign_id, TestCampaign.status == CampaignStatus.OPEN.value)
        .values(status=CampaignStatus.CLOSED.value, closed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], closed).rowcount != 1:
        raise Conflict(TestingErrorCode.CAMPAIGN_NOT_OPEN, "the round is already closed")
    session.refresh(campaign)
    audit.record(
        session=session,
        actor=actor,
        action="testing.campaign_closed",
        subject_type="test_campaign",
        subject_id=campaign.id,
        before={"status": CampaignStatus.OPEN.value},
        after={"status": CampaignStatus.CLOSED.value},
    )
    return campaign


def _campaign_for_tube(
    *, session: Session, campaign_id: int, area_path: str, pool_size: int
) -> TestCampaign:
    campaign = session.get(TestCampaign, campaign_id)
    if campaign is None or not area_path.startswith(campaign.area_path):
        raise NotFound(
            TestingErrorCode.CAMPAIGN_NOT_FOUND,
            "no such round covers this site",
            field="campaign_id",
        )
    if campaign.status != CampaignStatus.OPEN.value:
        raise Conflict(TestingErrorCode.CAMPAIGN_NOT_OPEN, f"the round is {campaign.status}")
    if pool_size > campaign.max_pool_size:
        raise TestingError(
            TestingErrorCode.POOL_SIZE_ABOVE_CAMPAIGN_CAP,
            f"this round pools at most {campaign.max_pool_size} people a tube",
            field="pool_size",
        )
    return campaign


def open_tube(
    *,
    session: Session,
    actor: Actor,
    barcode: str,
    area_path: str,
    pool_size: int,
    campaign_id: int | None = None,
    rule_ref: str | None = None,
) -> Tube:
    """Register a tube at a sampling site inside the actor's jurisdiction.

    ``pool_size`` is the cap for this tube (1 for single sampling, or up to the campaign's cap;
    the site must lie inside the campaign's area); ``rule_ref`` the pack rule that set it.
    """
    actor.require_path(area_path)
    try:
        barcode = check_tube_barcode(barcode)
    except RecordRefused as refused:
        raise TestingError(refused.code, refused.message, field="barcode") from None
    if not 1 <= pool_size <= MAX_POOL_SIZE:
        raise TestingError(
            TestingErrorCode.POOL_SIZE_INVALID,
            f"a tube holds 1 to {MAX_POOL_SIZE} people",
            field="pool_size",
        )
    if campaign_id is not None:
        _campaign_for_tube(
            session=session, campaign_id=campaign_id, area_path=area_path, pool_size=pool_size
        )
    now = clock.now()
    tube = Tube(
        barcode=barcode,
        campaign_id=campaign_id,
        area_path=area_path,
        pool_size=pool_size,
        member_count=0,
        status=TubeStatus.OPEN.value,
        opened_by_user_id=actor.user_id,
        opened_at=now,
        sealed_at=None,
    )
    try:
        with session.begin_nested():
            session.add(tube)
            session.flush()
    except IntegrityError:
        raise Conflict(
            TestingErrorCode.TUBE_BARCODE_TAKEN,
            f"tube {barcode} is already registered",
            field="barcode",
        ) from None
    audit.record(
        session=session,
        actor=actor,
        action="testing.tube_opened",
        subject_type="tube",
        subject_id=tube.id,
        after={"barcode": barcode, "pool_size": pool_size, "area_path": area_path},
        rule_ref=rule_ref,
        occurred_at=now,
    )
    return tube


def add_members(
    *, session: Session, actor: Actor, barcode: str, person_ids: Sequence[int]
) -> list[TubeMember]:
    """Bind people to an open tube, all or none.

    The pool cap is enforced by one conditional UPDATE (``member_count + n <= pool_size`` and
    status open), so two samplers scanning into the same tube can never overfill it. Refuses
    with ``tube_not_found``, ``tube_not_open``, ``tube_full``, ``person_already_in_tube`` or
    ``person_not_found``; a refusal changes nothing.
    """
    people = list(dict.fromkeys(person_ids))
    tube = get_tube_or_raise(session=session, barcode=barcode)
    actor.require_path(tube.area_path)
    now = clock.now()
    try:
        with session.begin_nested():
            admitted = session.execute(
                update(Tube)
                .where(
                    Tube.id == tube.id,
                    Tube.status == TubeStatus.OPEN.value,
                    Tube.member_count + len(people) <= Tube.pool_size,
                )
                .values(member_count=Tube.member_count + len(people))
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], admitted).rowcount != 1:
                raise _why_not_admitted(session=session, tube_id=tube.id, adding=len(people))
            members = [
                TubeMember(tube_id=tube.id, person_id=person, sampled_at=now) for person in people
            ]
            session.add_all(members)
            session.flush()
            summary.refresh_tubes(session=session, tube_ids=[tube.id])
    except IntegrityError:
        raise _why_members_refused(session=session, tube_id=tube.id, people=people) from None
    session.refresh(tube)
    audit.record(
        session=session,
        actor=actor,
        action="testing.tube_members_added",
        subject_type="tube",
        subject_id=tube.id,
        after={"person_ids": people, "member_count": tube.member_count},
        occurred_at=now,
    )
    return members


def _why_not_admitted(*, session: Session, tube_id: int, adding: int) -> FangkongError:
    status, count, size = session.execute(
        select(Tube.status, Tube.member_count, Tube.pool_size).where(Tube.id == tube_id)
    ).one()
    if status != TubeStatus.OPEN.value:
        return Conflict(TestingErrorCode.TUBE_NOT_OPEN, f"the tube is {status}", field="barcode")
    return Conflict(
        TestingErrorCode.TUBE_FULL,
        f"the tube holds {count} of {size}; {adding} more do not fit",
        field="person_ids",
    )


def _why_members_refused(*, session: Session, tube_id: int, people: Sequence[int]) -> FangkongError:
    already = session.scalars(
        select(TubeMember.person_id).where(
            TubeMember.tube_id == tube_id, TubeMember.person_id.in_(people)
        )
    ).all()
    if already:
        return Conflict(
            TestingErrorCode.PERSON_ALREADY_IN_TUBE,
            f"people {sorted(already)} are already in this tube",
            field="person_ids",
        )
    return NotFound(
        TestingErrorCode.PERSON_NOT_FOUND, "a person in the list does not exist", field="person_ids"
    )


def seal_tube(*, session: Session, actor: Actor, barcode: str) -> Tube:
    """Close an open tube that holds at least one person (open → sealed, atomically)."""
    tube = get_tube_or_raise(session=session, barcode=barcode)
    actor.require_path(tube.area_path)
    now = clock.now()
    sealed = session.execute(
        update(Tube)
        .where(Tube.id == tube.id, Tube.status == TubeStatus.OPEN.value, Tube.member_count > 0)
        .values(status=TubeStatus.SEALED.value, sealed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], sealed).rowcount != 1:
        session.refresh(tube)
        if tube.status != TubeStatus.OPEN.value:
            raise Conflict(TestingErrorCode.TUBE_NOT_OPEN, f"the tube is {tube.status}")
        raise Conflict(TestingErrorCode.TUBE_EMPTY, "nobody has been sampled into this tube")
    session.refresh(tube)
    audit.record(
        session=session,
        actor=actor,
        action="testing.tube_sealed",
        subject_type="tube",
        subject_id=tube.id,
        before={"status": TubeStatus.OPEN.value},
        after={"status": TubeStatus.SEALED.value, "member_count": tube.member_count},
        occurred_at=now,
    )
    return tube


# --- Alerts of positive tubes -----------------------------------------------------------------


def acknowledge_alert(*, session: Session, actor: Actor, alert_id: int) -> Alert:
    """Mark a positive-tube alert as seen and acted on (open → acknowledged, atomically); the
    alert must lie inside the actor's jurisdiction."""
    alert = session.get(Alert, alert_id)
    if alert is None or not actor.covers_path(alert.area_path):
        raise NotFound(TestingErrorCode.ALERT_NOT_FOUND, "no such alert", field="alert_id")
    now = clock.now()
    changed = session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == AlertStatus.OPEN.value)
        .values(
            status=AlertStatus.ACKNOWLEDGED.value,
            acknowledged_at=now,
            acknowledged_by_user_id=actor.user_id,
        )
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], changed).rowcount != 1:
        raise Conflict(
            TestingErrorCode.ALERT_ALREADY_ACKNOWLEDGED, "someone has already acknowledged it"
        )
    session.refresh(alert)
    audit.record(
        session=session,
        actor=actor,
        action="testing.alert_acknowledged",
        subject_type="testing_alert",
        subject_id=alert.id,
        before={"status": AlertStatus.OPEN.value},
        after={"status": AlertStatus.ACKNOWLEDGED.value},
        occurred_at=now,
    )
    return alert
