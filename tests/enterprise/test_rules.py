from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fangkong.enterprise import rules
from fangkong.enterprise.enums import TicketCategory
from fangkong.enterprise.errors import EnterpriseErrorCode

NOW = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("_case", "code", "is_valid"),
    [
        ("example in GB 32100-2015", "91350100M000100Y43", True),
        ("Huawei Technologies", "914403001922038216", True),
        ("check character L", "91110000600037341L", True),
        (
            "check value 31 written 0",
            "91430200MA4L16JQ9" + rules.credit_code_check_character("91430200MA4L16JQ9"),
            True,
        ),
        ("wrong check character", "91350100M000100Y44", False),
        ("transposed digits", "91350100M000010Y43", False),
        ("letter I not in the alphabet", "91350100M000100I43", False),
        ("letter O not in the alphabet", "9135010OM000100Y43", False),
        ("17 characters", "91350100M000100Y4", False),
        ("19 characters", "91350100M000100Y433", False),
        (
            "lower case is normalised first",
            rules.normalise_credit_code(" 91350100m000100y43 "),
            True,
        ),
        ("empty", "", False),
    ],
)
def test_it_checks_the_credit_code_check_character(_case: str, code: str, is_valid: bool) -> None:
    assert rules.is_valid_credit_code(code) is is_valid


def test_it_writes_a_check_value_of_31_as_zero() -> None:
    # Find a 17-character prefix whose weighted sum is a multiple of 31: its check is "0".
    prefix = next(
        p
        for p in (f"9143020000000{n:04d}" for n in range(10000))
        if sum(
            rules.CREDIT_CODE_ALPHABET.index(c) * w
            for c, w in zip(p, rules.CREDIT_CODE_WEIGHTS, strict=True)
        )
        % 31
        == 0
    )
    assert rules.credit_code_check_character(prefix) == "0"


@pytest.mark.parametrize(
    ("_case", "plate", "is_valid"),
    [
        ("ordinary", "湘B12345", True),
        ("new energy", "湘BD12345", True),
        ("with a middle dot", rules.normalise_plate("湘B·12345"), True),
        ("no province", "B12345", False),
        ("too short", "湘B1234", False),
        ("unknown province character", "株B12345", False),
    ],
)
def test_it_checks_number_plates(_case: str, plate: str, is_valid: bool) -> None:
    assert rules.is_valid_plate(plate) is is_valid


@pytest.mark.parametrize(
    ("_case", "colour", "revoked", "offset_hours", "site", "expected"),
    [
        ("green and valid", "green", False, 0, "厂区", None),
        (
            "red code wins over a valid pass",
            "red",
            False,
            0,
            "厂区",
            EnterpriseErrorCode.HEALTH_CODE_NOT_GREEN,
        ),
        (
            "yellow code refused",
            "yellow",
            False,
            0,
            None,
            EnterpriseErrorCode.HEALTH_CODE_NOT_GREEN,
        ),
        ("revoked", "green", True, 0, None, EnterpriseErrorCode.PASS_REVOKED),
        ("no health code at all", None, False, 0, None, EnterpriseErrorCode.HEALTH_CODE_MISSING),
        ("no code and revoked", None, True, 0, None, EnterpriseErrorCode.HEALTH_CODE_MISSING),
        (
            "before validity",
            "green",
            False,
            -48,
            None,
            EnterpriseErrorCode.PASS_NOT_YET_VALID,
        ),
        (
            "after validity",
            "green",
            False,
            24 * 8,
            None,
            EnterpriseErrorCode.PASS_EXPIRED,
        ),
        ("wrong site", "green", False, 0, "仓库", EnterpriseErrorCode.PASS_WRONG_SITE),
    ],
)
def test_it_decides_at_the_checkpoint(
    _case: str,
    colour: str | None,
    revoked: bool,
    offset_hours: int,
    site: str | None,
    expected: EnterpriseErrorCode | None,
) -> None:
    decision = rules.checkpoint_decision(
        is_revoked=revoked,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=7),
        permitted_sites=["厂区", "宿舍"],
        site=site,
        health_colour=colour,
        now=NOW + timedelta(hours=offset_hours),
    )
    assert (decision.is_admitted, decision.code) == (expected is None, expected)


@pytest.mark.parametrize(
    ("_case", "hours_after_due", "level"),
    [
        ("before", -1, 0),
        ("at the deadline", 0, 1),
        ("23 h late", 23, 1),
        ("a day late", 24, 2),
        ("3 days late", 72, 4),
    ],
)
def test_it_escalates_one_level_per_overdue_day(
    _case: str, hours_after_due: int, level: int
) -> None:
    assert rules.escalation_level(due_at=NOW, now=NOW + timedelta(hours=hours_after_due)) == level


def test_it_sets_deadlines_by_category() -> None:
    assert rules.ticket_due_at(category=TicketCategory.TESTING, opened_at=NOW) == NOW + timedelta(
        hours=12
    )
    assert rules.TICKET_OWNERS[TicketCategory.LOGISTICS] == "transport"
