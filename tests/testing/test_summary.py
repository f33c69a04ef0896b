"""The per-person test summary kept by the writes that change it: after members are added, a
round's scans are stored, results (and a corrected result) are applied and people are
re-tested, every row equals what a from-scratch aggregation of the samples gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.scope import Actor
from fangkong.healthcode.jobs import recompute_all
from fangkong.testing import actions, service, summary
from fangkong.testing.enums import ResultFormat
from fangkong.testing.models import PersonTestSummary, PersonTestSummaryBacklog
from tests.personas import JIANNING, Personas
from tests.testing import small_city
from tests.testing.hl7_samples import batch, oru
from tests.testing.small_city import T0
from tests.testing.test_sampling_scans import NOW as SCANNED
from tests.testing.test_sampling_scans import Site, run

DETECTED = "260373001^Detected^SCT"
NOT_DETECTED = "260415000^Not detected^SCT"
SITE = "/43/4302/430203/430203003/"


def us(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000 + at.microsecond


def rows(session: Session) -> dict[int, tuple[Any, ...]]:
    found = session.execute(
        select(
            PersonTestSummary.person_id,
            PersonTestSummary.last_sampled_us,
            PersonTestSummary.last_negative_us,
            PersonTestSummary.last_campaign_id,
            PersonTestSummary.round_bits,
            PersonTestSummary.pool_positive_us,
        )
    ).tuples()
    return {row[0]: row[1:] for row in found}


def from_scratch(session: Session) -> dict[int, tuple[Any, ...]]:
    """What the rebuild gives (in a savepoint rolled back, so the kept rows stay as they are)."""
    with session.begin_nested() as nested:
        summary.rebuild(session=session)
        rebuilt = rows(session)
        nested.rollback()
    return rebuilt


def sampler(personas: Personas) -> Actor:
    return actor_for(personas.user("jianning-sampler", Role.SAMPLER, JIANNING))


def tube(
    session: Session, actor: Actor, barcode: str, people: list[int], at: datetime, **kw: Any
) -> None:
    with use_clock(ManualClock(at)):
        service.open_tube(
            session=session,
            actor=actor,
            barcode=barcode,
            area_path=SITE,
            pool_size=max(len(people), 1),
            **kw,
        )
        service.add_members(session=session, actor=actor, barcode=barcode, person_ids=people)


def upload(
    session: Session, at: datetime, name: str, *messages: list[str], fold: bool = True
) -> None:
    """Results through the lab interface: they leave the summaries as they were and queue
    their run; ``fold`` then folds it as the nightly recompute would."""
    before = rows(session)
    with use_clock(ManualClock(at)):
        actions.ingest_result_file(
            session=session,
            actor=None,
            result_format=ResultFormat.HL7,
            filename=name,
            content=batch(list(messages)).encode(),
        )
    assert rows(session) == before
    if fold:
        assert summary.fold_backlog(session=session) == 1
        assert session.scalar(select(func.count()).select_from(PersonTestSummaryBacklog)) == 0


def test_members_results_corrections_and_retests_keep_it_equal_to_a_rebuild(
    session: Session, personas: Personas
) -> None:
    city = small_city.build(session)
    actor = sampler(personas)
    round_id = city.campaign.id
    a1, a2 = city.ids("A1"), city.ids("A2")
    sampled, retested = T0 + timedelta(hours=1), T0 + timedelta(hours=10)
    tube(session, actor, "ZZ430203000001", a1[:4], sampled, campaign_id=round_id)
    tube(session, actor, "ZZ430203000002", a2[:1], sampled, campaign_id=round_id)
    tube(session, actor, "ZZ430203000004", a1[4:5], sampled, campaign_id=round_id)
    bit = 1 << (round_id % 63)

    # Sampled, no result yet: the latest sample and the round only.
    assert rows(session)[a1[0]] == (us(sampled), None, round_id, bit, None)
    assert rows(session) == from_scratch(session)

    # A sample loaded in bulk (no row kept yet): the results recompute that person in full.
    session.execute(delete(PersonTestSummary).where(PersonTestSummary.person_id == a1[3]))
    upload(
        session,
        T0 + timedelta(hours=7),
        "first.hl7",
        oru(control_id="M1", tube="ZZ430203000001", result=DETECTED),
        oru(control_id="M2", tube="ZZ430203000002", result=NOT_DETECTED),
        oru(control_id="M5", tube="ZZ430203000004", result=NOT_DETECTED),
    )
    # A positive pool for A1's four, a negative for A2's first.
    assert rows(session)[a1[0]] == (us(sampled), None, round_id, bit, us(sampled))
    assert rows(session)[a2[0]] == (us(sampled), us(sampled), round_id, bit, None)
    assert rows(session)[a1[3]] == (us(sampled), None, round_id, bit, us(sampled))
    assert rows(session) == from_scratch(session)

    # A1's first re-tested alone, outside the round, negative; the lab corrects A2's tube.
    tube(session, actor, "ZZ430203000003", a1[:1], retested)
    tube(session, actor, "ZZ430203000005", a1[4:5], retested)
    upload(
        session,
        T0 + timedelta(hours=14),
        "second.hl7",
        oru(control_id="M3", tube="ZZ430203000003", result=NOT_DETECTED),
        oru(control_id="M6", tube="ZZ430203000005", result=NOT_DETECTED),
        oru(
            control_id="M4",
            tube="ZZ430203000002",
            result=DETECTED,
            reported="20221110230000+0800",
        ),
    )
    kept = rows(session)
    assert kept[a1[0]] == (us(retested), us(retested), round_id, bit, us(sampled))
    assert kept[a1[1]] == (us(sampled), None, round_id, bit, us(sampled))
    assert kept[a2[0]] == (us(sampled), None, round_id, bit, None)  # no negative any more
    assert kept[a1[4]] == (us(retested), us(retested), round_id, bit, None)  # a later negative
    assert set(kept) == {*a1[:5], a2[0]}
    assert kept == from_scratch(session)


def test_runs_folded_late_and_together_give_what_folding_each_at_once_gives(
    session: Session, personas: Personas
) -> None:
    city = small_city.build(session)
    actor = sampler(personas)
    a1 = city.ids("A1")
    sampled = T0 + timedelta(hours=1)
    tube(session, actor, "ZZ430203000001", a1[:3], sampled, campaign_id=city.campaign.id)
    first = oru(control_id="M1", tube="ZZ430203000001", result=NOT_DETECTED)
    upload(session, T0 + timedelta(hours=7), "first.hl7", first, fold=False)
    corrected = oru(
        control_id="M2",
        tube="ZZ430203000001",
        result=DETECTED,
        reported="20221110230000+0800",
    )
    upload(session, T0 + timedelta(hours=14), "second.hl7", corrected, fold=False)

    assert summary.fold_backlog(session=session) == 2
    bit = 1 << (city.campaign.id % 63)
    kept = rows(session)
    # The correction wins: a positive pool and no negative, as if each run had been folded.
    assert kept[a1[0]] == (us(sampled), None, city.campaign.id, bit, us(sampled))
    assert kept == from_scratch(session)
    assert summary.fold_backlog(session=session) == 0


def test_the_nightly_recompute_folds_the_queue_first(session: Session, personas: Personas) -> None:
    city = small_city.build(session)
    actor = sampler(personas)
    a1 = city.ids("A1")
    sampled = T0 + timedelta(hours=1)
    tube(session, actor, "ZZ430203000001", a1[:2], sampled, campaign_id=city.campaign.id)
    result = oru(control_id="M1", tube="ZZ430203000001", result=NOT_DETECTED)
    upload(session, T0 + timedelta(hours=7), "first.hl7", result, fold=False)
    session.commit()

    recompute_all(session=session, now=T0 + timedelta(hours=8), vectorised=True)

    assert session.scalar(select(func.count()).select_from(PersonTestSummaryBacklog)) == 0
    assert rows(session)[a1[0]][1] == us(sampled)  # the negative is in
    assert rows(session) == from_scratch(session)


def test_a_rounds_scans_keep_it_equal_to_a_rebuild(session: Session, personas: Personas) -> None:
    site = Site(session, sampler(personas), pool_size=3)
    site.tube("ZZ4302000001")
    ids = [p.id for p in site.people]

    run(session, [site.scan("ZZ4302000001", person) for person in ids[:2]])

    bit = 1 << (site.round.id % 63)
    assert rows(session) == {pid: (us(SCANNED), None, site.round.id, bit, None) for pid in ids[:2]}
    assert rows(session) == from_scratch(session)
