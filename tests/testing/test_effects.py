"""What a lab result does: member statuses, re-sample orders, alerts, turnaround, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.testing import actions, effects, person_status
from fangkong.testing.enums import ResultFormat
from fangkong.testing.models import (
    Alert,
    PersonTestStatus,
    ResampleOrder,
    ResultUpload,
    SamplingPriority,
    Tube,
    TubeOutcome,
    TubeResult,
)
from fangkong.testing.section import PositivePoolPolicy
from tests.testing import small_city
from tests.testing.hl7_samples import batch, oru
from tests.testing.small_city import T0

DETECTED = "260373001^Detected^SCT"
NOT_DETECTED = "260415000^Not detected^SCT"
INCONCLUSIVE = "419984006^Inconclusive^SCT"
REPORTED = "20221110143000+0800"  # 06:30 UTC, 5.5 h after the 01:00 UTC samples


def statuses(session: Session, campaign_id: int) -> dict[int, str]:
    rows = session.execute(
        select(PersonTestStatus.person_id, PersonTestStatus.status).where(
            PersonTestStatus.campaign_id == campaign_id
        )
    )
    return {person: status for person, status in rows.tuples()}


def first_round(session: Session, city: small_city.SmallCity) -> bytes:
    c = city.campaign.id
    at = T0 + timedelta(hours=1)
    a1, a2 = city.ids("A1"), city.ids("A2")
    small_city.tube(session, "ZZ0001", a1[:4], at=at, campaign_id=c)  # positive pool
    small_city.tube(session, "ZZ0002", a1[4:], at=at, campaign_id=c)  # negative
    small_city.tube(session, "ZZ0003", a2[:1], at=at, campaign_id=c)  # positive single
    small_city.tube(session, "ZZ0004", a2[1:3], at=at, campaign_id=c)  # inconclusive
    return batch(
        [
            oru(control_id="M1", tube="ZZ0001", result=DETECTED, reported=REPORTED),
            oru(control_id="M2", tube="ZZ0002", result=NOT_DETECTED, reported=REPORTED),
            oru(control_id="M3", tube="ZZ0003", result=DETECTED, reported=REPORTED),
            oru(control_id="M4", tube="ZZ0004", result=INCONCLUSIVE, reported=REPORTED),
        ]
    ).encode()


def upload(session: Session, content: bytes, name: str = "lab.hl7") -> None:
    actions.ingest_result_file(
        session=session, actor=None, result_format=ResultFormat.HL7, filename=name, content=content
    )


def test_it_applies_each_kind_of_result_to_every_member(session: Session) -> None:
    city = small_city.build(session)
    a1, a2 = city.ids("A1"), city.ids("A2")
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        upload(session, first_round(session, city))

    assert statuses(session, city.campaign.id) == {
        **{p: "pending_review" for p in a1[:4]},
        **{p: "negative" for p in a1[4:]},
        a2[0]: "positive",
        a2[1]: "resample",
        a2[2]: "resample",
    }
    orders = session.execute(
        select(ResampleOrder.person_id, ResampleOrder.reason, ResampleOrder.status)
    ).tuples()
    assert sorted(orders) == sorted(
        [(p, "positive_pool", "open") for p in a1[:4]]
        + [(p, "inconclusive", "open") for p in a2[1:3]]
    )
    alerts = session.execute(
        select(Alert.kind, Alert.member_count, Alert.audiences, Alert.status, Alert.area_path)
    ).tuples()
    assert sorted(alerts) == [
        (
            "positive_pool",
            4,
            "community,testing_group,police",
            "open",
            "/43/4302/430203/430203003/",
        ),
        (
            "positive_single",
            1,
            "community,testing_group,police",
            "open",
            "/43/4302/430203/430203003/",
        ),
    ]
    turnaround = session.scalars(select(TubeOutcome.turnaround_seconds)).all()
    assert turnaround == [19800, 19800, 19800, 19800]
    positives = person_status.list_positive_persons(session=session, since=T0)
    assert [p.person_id for p in positives] == [a2[0]]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "testing.results_applied")
    ).one()
    assert event.rule_ref == "cn-9@1#test.positive_pool"
    assert event.after is not None and event.after["positive_pools"] == 1


def test_the_same_results_twice_change_nothing(session: Session) -> None:
    city = small_city.build(session)
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        content = first_round(session, city)
        upload(session, content)
        before = statuses(session, city.campaign.id)
        upload(session, content)  # the same file
        upload(session, content.replace(b"FTS|1", b"FTS|2"), "again.hl7")  # same records
        report = effects.apply_results(session=session, actor=None)
    assert report.tubes == 0
    assert statuses(session, city.campaign.id) == before
    assert session.scalar(select(func.count()).select_from(ResampleOrder)) == 6
    assert session.scalar(select(func.count()).select_from(Alert)) == 2
    assert session.scalar(select(func.count()).select_from(TubeOutcome)) == 4


def test_a_single_tube_retest_closes_the_order_and_settles_the_round(session: Session) -> None:
    city = small_city.build(session)
    a1 = city.ids("A1")
    clock = ManualClock(T0 + timedelta(hours=7))
    with use_clock(clock):
        upload(session, first_round(session, city))
        at = T0 + timedelta(hours=8)
        # One retest inside the round, one door-to-door tube registered without a round.
        small_city.tube(session, "ZZ0101", a1[:1], at=at, campaign_id=city.campaign.id)
        small_city.tube(session, "ZZ0102", a1[1:2], at=at, campaign_id=None)
        clock.set(T0 + timedelta(hours=11))
        upload(
            session,
            batch(
                [
                    oru(
                        control_id="R1",
                        tube="ZZ0101",
                        result=NOT_DETECTED,
                        reported="20221110183000+0800",
                    ),
                    oru(
                        control_id="R2",
                        tube="ZZ0102",
                        result=DETECTED,
                        reported="20221110183000+0800",
                    ),
                ]
            ).encode(),
            "retest.hl7",
        )
    now = statuses(session, city.campaign.id)
    assert [now[p] for p in a1[:4]] == ["negative", "positive", "pending_review", "pending_review"]
    done = session.execute(
        select(ResampleOrder.person_id).where(ResampleOrder.status == "done")
    ).scalars()
    assert sorted(done) == sorted(a1[:2])
    assert [
        p.person_id for p in person_status.list_positive_persons(session=session, since=T0)
    ] == [
        city.ids("A2")[0],
        a1[1],
    ]


def test_a_later_negative_never_clears_a_positive(session: Session) -> None:
    city = small_city.build(session)
    a2 = city.ids("A2")
    with use_clock(ManualClock(T0 + timedelta(hours=12))):
        upload(session, first_round(session, city))
        small_city.tube(
            session, "ZZ0201", a2[:1], at=T0 + timedelta(hours=9), campaign_id=city.campaign.id
        )
        upload(
            session,
            batch([oru(control_id="N1", tube="ZZ0201", result=NOT_DETECTED)]).encode(),
            "later.hl7",
        )
    assert statuses(session, city.campaign.id)[a2[0]] == "positive"


def store_without_applying(session: Session, barcodes: dict[str, str]) -> None:
    """Lab results stored as ingestion stores them, before any effect is applied."""
    upload_row = ResultUpload(
        content_sha256="f" * 64,
        format="hl7v2",
        filename="direct",
        uploaded_at=T0,
        accepted_count=len(barcodes),
        stored_count=len(barcodes),
        duplicate_count=0,
        unmatched_count=0,
        rejected_count=0,
        rejections=[],
    )
    session.add(upload_row)
    session.flush()
    for barcode, result in barcodes.items():
        session.add(
            TubeResult(
                idempotency_key=f"lab|{barcode}",
                upload_id=upload_row.id,
                tube_id=session.scalar(select(Tube.id).where(Tube.barcode == barcode)),
                tube_barcode=barcode,
                lab_id="lab",
                message_id=barcode,
                result=result,
                loinc_code="94500-6",
                ct_values={},
                collected_at=T0,
                received_at=None,
                reported_at=T0 + timedelta(hours=6),
                stored_at=T0 + timedelta(hours=6),
            )
        )
    session.flush()


def test_the_pack_can_flag_a_positive_pools_buildings_first(session: Session) -> None:
    city = small_city.build(session)
    at = T0 + timedelta(hours=1)
    a1, b1 = city.ids("A1"), city.ids("B1")
    small_city.tube(session, "ZZ0301", [a1[0], b1[0]], at=at, campaign_id=city.campaign.id)
    small_city.tube(session, "ZZ0302", a1[1:3], at=at, campaign_id=city.campaign.id)
    store_without_applying(session, {"ZZ0301": "detected", "ZZ0302": "not_detected"})
    policy = PositivePoolPolicy(rule_ref="local@1#test.positive_pool", sample_building_first=True)
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        report = effects.apply_results(session=session, actor=None, policy=policy)
    assert (report.tubes, report.positive_pools, report.negative_tubes) == (2, 1, 1)
    assert (report.resample_orders, report.alerts, report.priority_buildings) == (2, 1, 2)
    flagged = session.execute(
        select(SamplingPriority.building_id, SamplingPriority.rule_ref)
    ).tuples()
    assert sorted(flagged) == sorted(
        [
            (city.buildings["A1"].id, "local@1#test.positive_pool"),
            (city.buildings["B1"].id, "local@1#test.positive_pool"),
        ]
    )


def test_the_national_pack_does_not_flag_buildings(session: Session) -> None:
    city = small_city.build(session)
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        upload(session, first_round(session, city))
    assert session.scalar(select(func.count()).select_from(SamplingPriority)) == 0


def test_sampled_people_get_a_status_that_a_result_then_replaces(session: Session) -> None:
    city = small_city.build(session)
    a1 = city.ids("A1")
    with use_clock(ManualClock(T0 + timedelta(hours=2))):
        content = first_round(session, city)
        tubes = list(session.scalars(select(Tube.id).where(Tube.barcode.in_(["ZZ0001"]))))
        person_status.record_sampled(session=session, tube_ids=tubes)
        assert statuses(session, city.campaign.id) == {p: "sampled" for p in a1[:4]}
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        upload(session, content)
        person_status.record_sampled(session=session, tube_ids=tubes)  # changes nothing now
    assert [statuses(session, city.campaign.id)[p] for p in a1[:4]] == ["pending_review"] * 4


def test_a_tube_nobody_was_sampled_into_keeps_the_labs_collection_time(
    session: Session,
) -> None:
    city = small_city.build(session)
    a1 = city.ids("A1")
    at = T0 + timedelta(hours=1)
    small_city.tube(session, "ZZ0801", [], at=at, campaign_id=city.campaign.id)
    small_city.tube(session, "ZZ0802", a1[:3], at=at, campaign_id=city.campaign.id)
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        upload(
            session,
            batch(
                [
                    oru(control_id="E1", tube="ZZ0801", result=DETECTED, reported=REPORTED),
                    oru(control_id="E2", tube="ZZ0802", result=DETECTED, reported=REPORTED),
                ]
            ).encode(),
        )
    outcomes = session.execute(
        select(Tube.barcode, TubeOutcome.member_count, TubeOutcome.turnaround_seconds)
        .join(Tube, Tube.id == TubeOutcome.tube_id)
        .order_by(Tube.barcode)
    ).tuples()
    # No member: collected 07:15 → reported 14:30 (+08:00) is 26,100 s; three members sampled
    # at 01:00 UTC → 06:30 UTC is 19,800 s.
    assert list(outcomes) == [("ZZ0801", 0, 26100), ("ZZ0802", 3, 19800)]
    # An empty detected tube is a positive "single" to nobody: an alert, no status, no order.
    assert statuses(session, city.campaign.id) == {p: "pending_review" for p in a1[:3]}
    assert sorted(session.scalars(select(ResampleOrder.person_id))) == sorted(a1[:3])
    assert sorted(session.scalars(select(Alert.member_count))) == [0, 3]


def test_a_large_run_refreshes_statistics_and_gives_the_same_statuses(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every run counts as large here, so the ANALYZE steps run (PostgreSQL) in the transaction.
    monkeypatch.setattr(effects, "ANALYZE_FROM_TUBES", 1)
    city = small_city.build(session)
    a1, a2 = city.ids("A1"), city.ids("A2")
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        upload(session, first_round(session, city))
    assert statuses(session, city.campaign.id) == {
        **{p: "pending_review" for p in a1[:4]},
        **{p: "negative" for p in a1[4:]},
        a2[0]: "positive",
        a2[1]: "resample",
        a2[2]: "resample",
    }
