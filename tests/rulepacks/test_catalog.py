"""The catalog: which pack was in force when, the installation's strict catalog, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong import cli, packs
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.rulepacks.catalog import load_catalog
from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from tests.rulepacks.builders import (
    CST,
    MANIFEST,
    SECTION,
    with_rule,
    write_pack,
)

ZHUZHOU_FIRST = ("zhuzhou", "cn")


@pytest.mark.parametrize(
    ("_case", "series", "at", "expected"),
    [
        # protocols.md §0: cn-9 28 Jun 2022, cn-20 11 Nov 2022, cn-10 7 Dec 2022.
        ("first moment of cn-9", "cn", datetime(2022, 6, 28, tzinfo=CST), "cn-9@1"),
        ("eve of cn-20", "cn", datetime(2022, 11, 10, 23, 59, tzinfo=CST), "cn-9@1"),
        ("cn-20 in force", "cn", datetime(2022, 11, 11, tzinfo=CST), "cn-20@1"),
        ("cn-10 in force", "cn", datetime(2022, 12, 7, tzinfo=CST), "cn-10@1"),
        (
            "utc moment before cn-20 local midnight",
            "cn",
            datetime(2022, 11, 10, 15, 59, tzinfo=UTC),
            "cn-9@1",
        ),
        # 株疫防指告〔2022〕27号, 9 Nov 2022 (an overlay on cn-9).
        (
            "zhuzhou notice 27",
            "zhuzhou",
            datetime(2022, 11, 9, tzinfo=CST),
            "zhuzhou-2022-11@1",
        ),
        (
            "local pack preferred",
            ZHUZHOU_FIRST,
            datetime(2022, 11, 12, tzinfo=CST),
            "zhuzhou-2022-11@1",
        ),
        (
            "national before the local notice",
            ZHUZHOU_FIRST,
            datetime(2022, 11, 8, tzinfo=CST),
            "cn-9@1",
        ),
        ("us cdc after 21 Oct 2020", "us", datetime(2021, 1, 1, tzinfo=UTC), "us-cdc@1"),
    ],
)
def test_it_answers_which_pack_was_in_force(
    _case: str, series: str | tuple[str, ...], at: datetime, expected: str
) -> None:
    catalog = load_catalog(schemas=[HEALTHCODE_SECTION])

    assert catalog.in_force(series=series, at=at).manifest.ref == expected


@pytest.mark.parametrize(
    ("_case", "series", "at"),
    [
        ("before the 9th edition", "cn", datetime(2022, 6, 27, 23, 59, tzinfo=CST)),
        ("before zhuzhou notice 27", "zhuzhou", datetime(2022, 11, 8, tzinfo=CST)),
        ("unknown series", "mars", datetime(2022, 11, 8, tzinfo=CST)),
    ],
)
def test_it_refuses_a_moment_with_no_pack_in_force(_case: str, series: str, at: datetime) -> None:
    catalog = load_catalog(schemas=[HEALTHCODE_SECTION])

    with pytest.raises(RulePackError) as refused:
        catalog.in_force(series=series, at=at)
    assert refused.value.code is RulePackErrorCode.NO_PACK_IN_FORCE


def test_it_refuses_in_strict_mode_a_section_no_domain_registers(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=SECTION, weather={"rules": []})

    with pytest.raises(RulePackError) as refused:
        load_catalog(tmp_path, schemas=[HEALTHCODE_SECTION], strict=True)

    assert refused.value.code is RulePackErrorCode.SECTION_UNKNOWN
    assert refused.value.field == "base/weather.yaml"


def test_it_ships_packs_that_every_registered_schema_accepts() -> None:
    packs.catalog.cache_clear()

    catalog = packs.catalog()

    assert sorted(pack.manifest.ref for pack in catalog.packs.values()) == [
        "cn-10@1",
        "cn-20@1",
        "cn-9@1",
        "shanghai-2022-04@1",
        "us-cdc@1",
        "zhuzhou-2022-11@1",
    ]


def test_it_checks_a_folder_of_packs_from_the_command_line(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=with_rule(source="rumour"))

    shipped = CliRunner().invoke(cli.app, ["packs", "check"])
    broken = CliRunner().invoke(cli.app, ["packs", "check", "--root", str(tmp_path)])

    assert (shipped.exit_code, shipped.output) == (0, "6 pack versions valid\n")
    assert broken.exit_code == 1
    assert "rulepack.source_unknown: rule hc.companion" in broken.output


def test_it_lists_packs_with_their_lineage() -> None:
    listed = CliRunner().invoke(cli.app, ["packs", "list"])

    assert listed.exit_code == 0
    assert (
        "zhuzhou-2022-11@1  series=zhuzhou  2022-11-09T00:00:00+08:00 → …"
        "  lineage=cn-9@1 > zhuzhou-2022-11@1"
        "  rules: areas=5, healthcode=17, isolation=4, testing=3, tracing=6"
    ) in listed.output.splitlines()
