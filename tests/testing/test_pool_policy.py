"""Tubes of a round take their pool size from the pack's rule for the site's area risk class."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.testing import sampling
from fangkong.testing.codes import issue_household_code
from fangkong.testing.errors import TestingErrorCode
from tests.healthcode.world import designation
from tests.personas import Personas
from tests.testing.test_sampling_scans import KEYS, NOW, Site, run, sampler


def designate(site: Site, level: str) -> None:
    designation(site.session, level=level, since=NOW - timedelta(days=1), area_path=site.grid.path)


def open_tube(site: Site, barcode: str, **extra: object) -> int:
    with use_clock(ManualClock(NOW)):
        tube = sampling.open_round_tube(
            session=site.session,
            actor=site.actor,
            barcode=barcode,
            campaign_id=site.round.id,
            site_code=site.grid.code,
            **extra,  # type: ignore[arg-type]
        )
    return tube.pool_size


@pytest.mark.parametrize(("level", "size"), [(None, 20), ("low", 20), ("medium", 10), ("high", 1)])
def test_a_round_tube_pools_by_the_risk_class_of_its_site(
    session: Session, personas: Personas, level: str | None, size: int
) -> None:
    # cn-9 is in force on 10 Nov 2022: high 1, medium 10, low and normal 20.
    site = Site(session, sampler(personas), pool_size=20)
    if level is not None:
        designate(site, level)
    assert open_tube(site, "ZZ4302000101") == size
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "testing.tube_opened")
    ).one()
    assert (event.after["pool_size"], event.rule_ref) == (size, "cn-9@1#test.pool_size")  # type: ignore[index]


def test_the_round_cap_still_bounds_the_policy_and_isolation_sites_are_single(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=5)
    assert open_tube(site, "ZZ4302000102") == 5  # policy 20, round cap 5
    assert open_tube(site, "ZZ4302000103", isolation_site=True) == 1
    assert open_tube(site, "ZZ4302000104", pool_size=3) == 3  # a smaller tube may be asked for


def test_a_pool_above_the_size_for_the_area_is_refused(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=20)
    designate(site, "medium")
    with pytest.raises(FangkongError) as refused:
        open_tube(site, "ZZ4302000105", pool_size=11)
    assert refused.value.code == TestingErrorCode.POOL_SIZE_ABOVE_CAMPAIGN_CAP
    assert str(refused.value) == (
        "in a medium risk area this round pools at most 10 people a tube (cn-9@1#test.pool_size)"
    )
    assert open_tube(site, "ZZ4302000105", pool_size=10) == 10


def test_a_household_code_does_not_fit_a_single_tube_in_a_high_risk_area(
    session: Session, personas: Personas
) -> None:
    site = Site(session, sampler(personas), pool_size=20)
    designate(site, "high")
    assert open_tube(site, "ZZ4302000106") == 1
    ids = [person.id for person in site.people]
    household_code = issue_household_code(
        private_key=KEYS.signing_key,
        key_id=KEYS.signing_key_id,
        presenter_id=ids[0],
        household_id=site.people[0].household_id or 0,
        member_ids=ids[1:3],
        issued_at=NOW,
    )
    together = sampling.prepare_scan(
        actor=site.actor,
        tube_barcode="ZZ4302000106",
        code=household_code,
        id_number=None,
        public_keys=KEYS.public_keys,
        now=NOW,
    )
    outcomes = run(session, [together, site.scan("ZZ4302000106", ids[0])])
    assert outcomes[0].code == TestingErrorCode.TUBE_FULL  # type: ignore[attr-defined]
    assert (outcomes[1].member_count, outcomes[1].tube_status) == (1, "sealed")  # type: ignore[attr-defined]
