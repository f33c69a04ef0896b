"""Pure rules of the registry: identity numbers, phones, tags, codes. No database, no clock.

An 18-character resident ID (GB 11643-1999) is: 6 digits of the county-level region code in
force when the number was issued, 8 digits of birth date (YYYYMMDD), 3 digits of sequence (odd
for men, even for women) and a check character computed with ISO 7064 MOD 11-2 (``0``–``9`` or
``X`` for 10). First-generation 15-digit numbers (before 1999) omit the century and the check
character; they are widened to 18 characters the way the issuing authority did (insert ``19``,
append the check character).

Region policy (see ``docs/registry.md``): a number keeps the region code in force when it was
issued, so a code retired since (株洲县 430221, now 渌口区 430212) stays valid for people born
before it was retired. For Hunan (``43``) we hold the complete current table and a documented
table of retired codes, so a Hunan code in neither is refused. For every other province we hold
no table: a code there is accepted when its first two digits name a real province, because a
missing table is not evidence that a number is false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from fangkong.registry.enums import DocumentType, PersonTag, Sex
from fangkong.registry.errors import RegistryErrorCode as Code

# ISO 7064 MOD 11-2 weights are 2^(17-i) mod 11 for positions i = 0..16.
CHECK_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARACTERS = "10X98765432"  # indexed by (weighted sum mod 11)

# Province-level codes of GB/T 2260 (34 units incl. Taiwan 71, Hong Kong 81, Macao 82).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
# The oldest plausible birth year: nobody alive was born before it (documented, not a policy).
EARLIEST_BIRTH_YEAR = 1900

MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers
LANDLINE_PATTERN = re.compile(r"^0\d{9,11}$")  # area code + local number, e.g. 0731 2xxxxxxx
DOCUMENT_PATTERN = re.compile(r"^[A-Z0-9]{5,24}$")
MASK_CHARACTER = "*"

TAG_LABELS_ZH: dict[PersonTag, str] = {
    PersonTag.ELDERLY_ALONE: "独居老人",
    PersonTag.PREGNANT: "孕产妇",
    PersonTag.DIALYSIS: "透析患者",
    PersonTag.CHRONIC_MEDICINE: "慢性病",
    PersonTag.DISABLED: "残疾人",
    PersonTag.MEDICAL_STAFF: "医务人员",
    PersonTag.KEY_WORKER: "重点行业从业人员",
    PersonTag.BEDRIDDEN: "卧床",
}


@dataclass(frozen=True)
class HistoricRegion:
    """A county-level code no longer in force, with the years it was in force."""

    code: str
    name: str
    first_year: int
    last_year: int
    successor: str
    source: str


@dataclass(frozen=True)
class RegionTable:
    """What we know of region codes: ``current`` and ``historic`` cover the provinces named in
    ``complete_provinces``; elsewhere only the province prefix can be checked."""

    current: frozenset[str]
    historic: Mapping[str, HistoricRegion]
    complete_provinces: frozenset[str]


@dataclass(frozen=True)
class IdVerdict:
    """The outcome of checking a resident ID: ``problem`` is None when it is valid."""

    number: str
    problem: Code | None = None
    message: str = ""
    birth_date: date | None = None
    sex: Sex | None = None
    historic_region: HistoricRegion | None = None

    @property
    def is_valid(self) -> bool:
        return self.problem is None


def resident_id_check_character(first_17: str) -> str:
    """The check character for the first 17 digits of a resident ID."""
    if len(first_17) != 17 or not first_17.isdigit():
        raise ValueError("the first 17 characters of a resident ID are digits")
    total = sum(int(digit) * weight for digit, weight in zip(first_17, CHECK_WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def resident_id_birth_date(id_number: str) -> date | None:
    """The birth date encoded in an 18-character ID, or None when it is not a real date."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def resident_id_sex(id_number: str) -> str:
    """``"M"`` when the sequence digit (17th character) is odd, ``"F"`` when even."""
    return "M" if int(id_number[16]) % 2 else "F"


def widen_fifteen_digit_id(number: str) -> str:
    """A first-generation 15-digit number as its 18-character form (century 19, check char)."""
    first_17 = number[:6] + "19" + number[6:]
    return first_17 + resident_id_check_character(first_17)


def check_resident_id(value: str, *, today: date, regions: RegionTable) -> IdVerdict:
    """Check a resident ID number: format, check character, birth date, region code.

    ``value`` should already be normalised (no spaces, upper case). 15-digit numbers are widened
    first, and the verdict carries the 18-character form.
    """
    if MASK_CHARACTER in value:
        return IdVerdict(value, Code.ID_NUMBER_MASKED, "a masked number cannot be registered")
    if len(value) == 15 and value.isdigit():
        value = widen_fifteen_digit_id(value)
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return IdVerdict(value, Code.ID_FORMAT_INVALID, "an ID number has 18 characters")
    if resident_id_check_character(value[:17]) != value[17]:
        return IdVerdict(value, Code.ID_CHECKSUM_INVALID, "the check character does not match")
    born = resident_id_birth_date(value)
    if born is None or born.year < EARLIEST_BIRTH_YEAR:
        return IdVerdict(value, Code.ID_BIRTH_DATE_INVALID, "the birth date is not a real date")
    if born > today:
        return IdVerdict(value, Code.ID_BIRTH_DATE_IN_FUTURE, "the birth date is in the future")
    region, historic = value[:6], None
    if region[:2] not in PROVINCE_CODES:
        return IdVerdict(value, Code.ID_REGION_UNKNOWN, f"no province has code {region[:2]}")
    if region[:2] in regions.complete_provinces and region not in regions.current:
        historic = regions.historic.get(region)
        if historic is None:
            return IdVerdict(value, Code.ID_REGION_UNKNOWN, f"no county has code {region}")
        # A number is issued at or after birth, so it can only carry a code that was still in
        # force in the year of birth or later.
        if born.year > historic.last_year:
            return IdVerdict(
                value,
                Code.ID_REGION_RETIRED,
                f"code {region} ({historic.name}) was retired in {historic.last_year}, "
                f"before this person was born",
            )
    return IdVerdict(
        value, birth_date=born, sex=Sex(resident_id_sex(value)), historic_region=historic
    )


def check_document_number(document_type: DocumentType, value: str) -> Code | None:
    """The problem with a non-resident document number, or None. Resident IDs go through
    :func:`check_resident_id` instead."""
    if MASK_CHARACTER in value:
        return Code.ID_NUMBER_MASKED
    return None if DOCUMENT_PATTERN.match(value) else Code.DOCUMENT_NUMBER_INVALID


def is_valid_phone(normalised: str) -> bool:
    """A mainland mobile number or a landline with its area code (digits only)."""
    return bool(MOBILE_PATTERN.match(normalised) or LANDLINE_PATTERN.match(normalised))


def parse_tags(text: str) -> tuple[int, list[str]]:
    """Tags written as names or Chinese labels, separated by ``;`` ``,`` ``、`` or spaces.

    Returns the bit set and the words that are not tags.
    """
    by_word = {tag.name.lower(): tag for tag in PersonTag if tag.name}
    by_word.update({label: tag for tag, label in TAG_LABELS_ZH.items()})
    bits, unknown = 0, []
    for word in re.split(r"[;,，、\s]+", text.strip()):
        if not word:
            continue
        tag = by_word.get(word.lower())
        if tag is None:
            unknown.append(word)
        else:
            bits |= int(tag)
    return bits, unknown


def format_tags(bits: int) -> str:
    """The Chinese labels of a tag bit set, ``;``-separated (what exports write)."""
    return ";".join(label for tag, label in TAG_LABELS_ZH.items() if bits & int(tag))


def tags_of(bits: int) -> list[PersonTag]:
    return [tag for tag in PersonTag if tag.name and bits & int(tag)]


def child_code_problem(parent_code: str, code: str, *, suffix_digits: int) -> str | None:
    """Why ``code`` cannot be a child of ``parent_code`` (None when it can).

    Communities take their township's 9 digits plus 3 (the 12-digit statistical code); grids
    take their community's 12 digits plus 3.
    """
    if not code.isdigit() or len(code) != len(parent_code) + suffix_digits:
        return f"the code is the parent's {len(parent_code)} digits plus {suffix_digits} digits"
    if not code.startswith(parent_code):
        return f"the code must start with the parent's code {parent_code}"
    if code.endswith("0" * suffix_digits):
        return "the last digits cannot all be 0"
    return None
