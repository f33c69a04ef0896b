"""The pure rules: the day's window, the identities and the bulletin text, exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from fangkong.command import rules

DAY1 = rules.Figures(
    new_confirmed=2,
    new_asymptomatic=2,
    cumulative_confirmed=2,
    cumulative_asymptomatic=2,
    under_treatment=2,
    under_observation=2,
    tests=3,
    cumulative_tests=3,
    risk_areas_added=1,
    risk_areas_in_force=1,
    centralised_isolation=1,
    home_isolation=1,
)
DISTRICTS = {
    "荷塘区": rules.Figures(new_confirmed=1, new_asymptomatic=1),
    "芦淞区": rules.Figures(new_confirmed=1, new_asymptomatic=1),
    "石峰区": rules.Figures(),
}


def test_the_day_runs_from_local_midnight_to_local_midnight() -> None:
    assert rules.day_window(date(2022, 11, 10), cutoff_hour=24, timezone="Asia/Shanghai") == (
        datetime(2022, 11, 9, 16, tzinfo=UTC),
        datetime(2022, 11, 10, 16, tzinfo=UTC),
    )
    assert rules.day_window(date(2022, 11, 10), cutoff_hour=20, timezone="Asia/Shanghai") == (
        datetime(2022, 11, 9, 12, tzinfo=UTC),
        datetime(2022, 11, 10, 12, tzinfo=UTC),
    )
    with pytest.raises(ValueError):
        rules.day_window(date(2022, 11, 10), cutoff_hour=0, timezone="Asia/Shanghai")


def test_the_chinese_bulletin_text_is_exact() -> None:
    text = rules.bulletin_zh(
        city="株洲市", day=date(2022, 11, 10), cutoff_hour=24, figures=DAY1, districts=DISTRICTS
    )
    assert text == (
        "株洲市2022年11月10日新冠肺炎疫情情况\n"
        "\n"
        "11月10日0—24时，株洲市新增本土确诊病例2例（荷塘区1例、芦淞区1例），"
        "其中无症状感染者转为确诊病例0例；新增本土无症状感染者2例（荷塘区1例、芦淞区1例）。"
        "新增治愈出院0例，新增解除医学观察无症状感染者0例，新增死亡病例0例。\n"
        "\n"
        "截至11月10日24时，株洲市现有确诊病例2例，现有无症状感染者2例（正在接受医学观察）。"
        "累计报告确诊病例2例，累计治愈出院0例，累计死亡0例；累计报告无症状感染者2例，"
        "累计转为确诊病例0例，累计解除医学观察0例。\n"
        "\n"
        "当日完成核酸检测3人次，累计完成3人次。当日新增风险区1个，解除风险区0个，现有风险区1个。"
        "目前集中隔离医学观察1人，居家隔离医学观察1人。\n"
    )


def test_the_english_bulletin_text_is_exact() -> None:
    text = rules.bulletin_en(
        city="Zhuzhou", day=date(2022, 11, 10), cutoff_hour=24, figures=DAY1, districts=DISTRICTS
    )
    assert text == (
        "Zhuzhou: COVID-19 situation on 10 November 2022\n"
        "\n"
        "In the 24 hours to 24:00 on 10 November 2022, Zhuzhou reported 2 new local confirmed "
        "case(s) (荷塘区 1, 芦淞区 1), of which 0 were asymptomatic infections reclassified as "
        "confirmed, and 2 new local asymptomatic infection(s) (荷塘区 1, 芦淞区 1). 0 case(s) "
        "were cured and discharged, 0 asymptomatic infection(s) were released from medical "
        "observation, and 0 death(s) were reported.\n"
        "\n"
        "As of 24:00, 2 confirmed case(s) are under treatment and 2 asymptomatic infection(s) "
        "are under medical observation. Since the start of the outbreak: 2 confirmed case(s), "
        "0 cured, 0 death(s); 2 asymptomatic infection(s), 0 reclassified as confirmed, "
        "0 released from medical observation.\n"
        "\n"
        "3 nucleic-acid test(s) were completed on the day, 3 in all. 1 risk area(s) were added "
        "and 0 lifted; 1 are in force. 1 people are in centralised isolation and 1 in home "
        "isolation.\n"
    )


def test_identity_errors_name_every_broken_identity() -> None:
    assert rules.identity_errors(None, DAY1) == []
    day2 = replace(
        DAY1,
        new_confirmed=1,
        new_asymptomatic=0,
        cumulative_confirmed=3,
        under_treatment=3,
        tests=4,
        cumulative_tests=7,
        risk_areas_added=0,
    )
    assert rules.identity_errors(DAY1, day2) == []
    broken = replace(day2, cumulative_confirmed=4, risk_areas_lifted=1)
    assert rules.identity_errors(DAY1, broken) == [
        "under_treatment",
        "cumulative_confirmed",
        "risk_areas_in_force",
    ]


def test_districts_that_do_not_add_up_are_named() -> None:
    parts = [rules.Figures(new_confirmed=1), rules.Figures(new_confirmed=1, tests=2)]
    assert rules.sum_errors(rules.Figures(new_confirmed=2, tests=2), parts) == []
    assert rules.sum_errors(rules.Figures(new_confirmed=3, tests=2), parts) == ["new_confirmed"]


def test_ranking_puts_fewest_first_and_ties_share_a_rank() -> None:
    assert rules.ranking({"芦淞区": 6, "荷塘区": 0, "石峰区": 0, "天元区": 2}) == [
        (1, "石峰区", 0),
        (1, "荷塘区", 0),
        (3, "天元区", 2),
        (4, "芦淞区", 6),
    ]


def test_names_are_masked_but_for_the_family_name() -> None:
    assert [rules.mask_name(n) for n in ("张三", "欧阳娜娜", "李")] == ["张*", "欧***", "李"]
