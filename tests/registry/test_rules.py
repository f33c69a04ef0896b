from __future__ import annotations

from datetime import date

import pytest

from fangkong.registry import rules
from fangkong.registry.enums import PersonTag, Sex
from fangkong.registry.errors import RegistryErrorCode as Code
from fangkong.registry.persons import region_table
from tests.registry.helpers import resident_id

TODAY = date(2022, 11, 11)


def with_check(first_17: str) -> str:
    return first_17 + rules.resident_id_check_character(first_17)


def flip_check(number: str) -> str:
    wrong = "0" if number[17] != "0" else "1"
    return number[:17] + wrong


@pytest.mark.parametrize(
    ("_case", "number", "problem", "born", "sex"),
    [
        ("valid lusong man", resident_id("430203", "19900307", "123"), None, date(1990, 3, 7), "M"),
        ("valid woman", resident_id("430211", "20011231", "246"), None, date(2001, 12, 31), "F"),
        ("check character X", "11010519491231002X", None, date(1949, 12, 31), "F"),
        (
            "lower-case x is the caller's job",
            "11010519491231002x",
            Code.ID_FORMAT_INVALID,
            None,
            None,
        ),
        (
            "valid other province",
            resident_id("440305", "19850101", "011"),
            None,
            date(1985, 1, 1),
            "M",
        ),
        ("bad checksum", flip_check(resident_id()), Code.ID_CHECKSUM_INVALID, None, None),
        ("17 digits", resident_id()[:17], Code.ID_FORMAT_INVALID, None, None),
        ("letters", "43020319900307A12X", Code.ID_FORMAT_INVALID, None, None),
        ("30 February", with_check("43020319900230123"), Code.ID_BIRTH_DATE_INVALID, None, None),
        ("month 13", with_check("43020319901301123"), Code.ID_BIRTH_DATE_INVALID, None, None),
        ("born 1850", with_check("43020318500101123"), Code.ID_BIRTH_DATE_INVALID, None, None),
        (
            "born tomorrow",
            resident_id("430203", "20221112"),
            Code.ID_BIRTH_DATE_IN_FUTURE,
            None,
            None,
        ),
        ("29 Feb leap year", resident_id("430203", "20000229"), None, date(2000, 2, 29), "M"),
        (
            "29 Feb non-leap",
            with_check("43020319000229123"),
            Code.ID_BIRTH_DATE_INVALID,
            None,
            None,
        ),
        (
            "株洲县 before 2018",
            resident_id("430221", "19751010", "222"),
            None,
            date(1975, 10, 10),
            "F",
        ),
        ("株洲县 in 2018", resident_id("430221", "20180601", "101"), None, date(2018, 6, 1), "M"),
        (
            "株洲县 after 2018",
            resident_id("430221", "20190601"),
            Code.ID_REGION_RETIRED,
            None,
            None,
        ),
        ("渌口区 now", resident_id("430212", "20190601"), None, date(2019, 6, 1), "M"),
        ("醴陵市 1986-1995 code", resident_id("439001", "19700101"), None, date(1970, 1, 1), "M"),
        (
            "望城县 after 2011",
            resident_id("430122", "20120101"),
            Code.ID_REGION_RETIRED,
            None,
            None,
        ),
        (
            "unknown hunan county",
            resident_id("430299", "19900101"),
            Code.ID_REGION_UNKNOWN,
            None,
            None,
        ),
        ("unknown province", resident_id("990101", "19900101"), Code.ID_REGION_UNKNOWN, None, None),
        ("masked", "430203********1234", Code.ID_NUMBER_MASKED, None, None),
    ],
)
def test_it_checks_resident_ids(
    _case: str, number: str, problem: Code | None, born: date | None, sex: str | None
) -> None:
    verdict = rules.check_resident_id(number, today=TODAY, regions=region_table())
    assert (verdict.problem, verdict.birth_date, verdict.sex) == (
        problem,
        born,
        Sex(sex) if sex else None,
    )


def test_it_widens_a_fifteen_digit_id_and_checks_the_result() -> None:
    verdict = rules.check_resident_id("430203900307123", today=TODAY, regions=region_table())
    assert (verdict.problem, verdict.number) == (None, resident_id("430203", "19900307", "123"))


def test_it_names_the_retired_region_of_a_historic_id() -> None:
    verdict = rules.check_resident_id(
        resident_id("430221", "19751010"), today=TODAY, regions=region_table()
    )
    assert verdict.historic_region is not None
    assert (verdict.historic_region.name, verdict.historic_region.successor) == ("株洲县", "430212")


def test_it_documents_a_source_for_every_historic_code() -> None:
    table = region_table()
    assert all(
        entry.source and entry.first_year <= entry.last_year for entry in table.historic.values()
    )
    assert not set(table.historic) & table.current


@pytest.mark.parametrize(
    ("_case", "phone", "valid"),
    [
        ("mobile", "13812345678", True),
        ("landline with area code", "073128881234", True),
        ("too short", "1381234567", False),
        ("mobile with bad prefix", "12812345678", False),
        ("empty", "", False),
    ],
)
def test_it_checks_phones(_case: str, phone: str, valid: bool) -> None:
    assert rules.is_valid_phone(phone) is valid


def test_it_parses_tags_by_name_and_chinese_label() -> None:
    bits, unknown = rules.parse_tags("独居老人;pregnant、医务人员 vip")
    assert bits == PersonTag.ELDERLY_ALONE | PersonTag.PREGNANT | PersonTag.MEDICAL_STAFF
    assert unknown == ["vip"]
    assert rules.format_tags(bits) == "独居老人;孕产妇;医务人员"


@pytest.mark.parametrize(
    ("_case", "parent", "code", "valid"),
    [
        ("community", "430203003", "430203003001", True),
        ("wrong parent", "430203003", "430203004001", False),
        ("too long", "430203003", "4302030030011", False),
        ("all zeros suffix", "430203003", "430203003000", False),
        ("letters", "430203003", "430203003a01", False),
    ],
)
def test_it_checks_child_area_codes(_case: str, parent: str, code: str, valid: bool) -> None:
    assert (rules.child_code_problem(parent, code, suffix_digits=3) is None) is valid
