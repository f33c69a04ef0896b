"""Pure rules of the enterprise domain: credit codes, plates, pass windows, ticket deadlines.

No database, no clock: callers pass ``now``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from fangkong.enterprise.enums import Department, TicketCategory
from fangkong.enterprise.errors import EnterpriseErrorCode as E

# GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》: 18 characters drawn from the digits and
# the capital letters without I, O, Z, S and V (31 symbols, valued 0–30 in this order); the 18th
# is a check character. Weights are 3^i mod 31 for positions i = 0..16 and the check value is
# 31 − (Σ value·weight mod 31), with 31 written as "0".
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
CREDIT_CODE_LENGTH = 18

# A mainland plate: province abbreviation, a letter, then 5 (ordinary) or 6 (new-energy)
# letters or digits (GA 36-2018 《中华人民共和国机动车号牌》).
PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_PATTERN = re.compile(rf"^[{PROVINCE_ABBREVIATIONS}][A-Z][A-Z0-9]{{5,6}}$")

# How long a department has to answer a ticket, by category, and how often an unanswered one
# climbs a level. Local working practice, not a published norm: adjust here.
TICKET_DEADLINES = {
    TicketCategory.LOGISTICS: timedelta(hours=24),
    TicketCategory.STAFF: timedelta(hours=24),
    TicketCategory.SUPPLIES: timedelta(hours=24),
    TicketCategory.TESTING: timedelta(hours=12),
    TicketCategory.FINANCE: timedelta(hours=72),
    TicketCategory.OTHER: timedelta(hours=48),
}
TICKET_OWNERS = {
    TicketCategory.LOGISTICS: Department.TRANSPORT,
    TicketCategory.STAFF: Department.HUMAN_RESOURCES,
    TicketCategory.SUPPLIES: Department.COMMERCE,
    TicketCategory.TESTING: Department.HEALTH,
    TicketCategory.FINANCE: Department.FINANCE,
    TicketCategory.OTHER: Department.INDUSTRY,
}
ESCALATION_STEP = timedelta(hours=24)
# Age buckets of the open-ticket summary, in hours (the last bucket is open-ended).
AGE_BUCKETS_HOURS = (24, 72)
# The only health-code colour that lets a pass holder through.
GREEN = "green"


def credit_code_check_character(first_17: str) -> str:
    """The check character for the first 17 characters of a unified social credit code."""
    if len(first_17) != CREDIT_CODE_LENGTH - 1 or any(
        ch not in CREDIT_CODE_ALPHABET for ch in first_17
    ):
        raise ValueError("17 characters from the credit-code alphabet are needed")
    total = sum(
        CREDIT_CODE_ALPHABET.index(ch) * weight
        for ch, weight in zip(first_17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    return "".join(value.split()).upper()


def is_valid_credit_code(value: str) -> bool:
    """Whether ``value`` (already normalised) has the right length, alphabet and check."""
    if len(value) != CREDIT_CODE_LENGTH or any(ch not in CREDIT_CODE_ALPHABET for ch in value):
        return False
    return credit_code_check_character(value[:17]) == value[17]


def normalise_plate(value: str) -> str:
    return "".join(value.split()).replace("·", "").upper()


def is_valid_plate(value: str) -> bool:
    return PLATE_PATTERN.match(value) is not None


def is_valid_window(valid_from: datetime, valid_until: datetime) -> bool:
    return valid_from < valid_until


@dataclass(frozen=True)
class CheckDecision:
    """What a checkpoint does with a pass: admit, or refuse with one code."""

    is_admitted: bool
    code: str | None


def checkpoint_decision(
    *,
    is_revoked: bool,
    valid_from: datetime,
    valid_until: datetime,
    permitted_sites: list[str],
    site: str | None,
    health_colour: str | None,
    now: datetime,
) -> CheckDecision:
    """Decide at a checkpoint. ``health_colour`` is the colour of the holder's current health
    code (None: the person has no code). A pass never overrides the health code: no code, or
    anything but green, is refused whatever the pass says. Revocation is read at every check,
    so it takes effect at the next scan."""
    if health_colour is None:
        return CheckDecision(False, E.HEALTH_CODE_MISSING)
    if health_colour != GREEN:
        return CheckDecision(False, E.HEALTH_CODE_NOT_GREEN)
    if is_revoked:
        return CheckDecision(False, E.PASS_REVOKED)
    if now < valid_from:
        return CheckDecision(False, E.PASS_NOT_YET_VALID)
    if now >= valid_until:
        return CheckDecision(False, E.PASS_EXPIRED)
    if site is not None and permitted_sites and site not in permitted_sites:
        return CheckDecision(False, E.PASS_WRONG_SITE)
    return CheckDecision(True, None)


def ticket_due_at(*, category: TicketCategory, opened_at: datetime) -> datetime:
    return opened_at + TICKET_DEADLINES[category]


def escalation_level(*, due_at: datetime, now: datetime) -> int:
    """0 before the deadline; 1 once it has passed, one more for each further day overdue."""
    if now < due_at:
        return 0
    return 1 + int((now - due_at) / ESCALATION_STEP)


def age_bucket(*, opened_at: datetime, now: datetime) -> str:
    """``"<24h"``, ``"24-72h"`` or ``">72h"``: how long a ticket has been open."""
    hours = (now - opened_at).total_seconds() / 3600
    low, high = AGE_BUCKETS_HOURS
    if hours < low:
        return f"<{low}h"
    if hours < high:
        return f"{low}-{high}h"
    return f">{high}h"


def rate(numerator: int, denominator: int) -> float | None:
    """A share rounded to 4 places, or None when there is nothing to divide by."""
    return round(numerator / denominator, 4) if denominator else None
