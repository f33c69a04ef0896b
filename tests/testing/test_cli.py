from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.testing.formats.csv_results import TEMPLATE_PATH

runner = CliRunner()


def test_it_prints_the_pool_plan_for_each_prevalence() -> None:
    result = runner.invoke(
        app, ["testing", "plan", "--prevalence", "0.01", "--prevalence", "0.001", "--cap", "20"]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["1.0000%", "11", "0.1956", "11,", "0.1956", "0.0808"]
    assert lines[2].split() == ["0.1000%", "20", "0.0698", "32,", "0.0628", "0.0114"]


def test_it_lists_the_refusals_of_a_file_and_exits_nonzero(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text(
        "record_id,lab_id,tube_barcode,loinc_code,result,collected_at,reported_at\n"
        "R1,LAB1,ZZ0001,94500-6,阴性,2022-11-10 07:15,2022-11-10 14:30\n"
        "R2,LAB1,ZZ0002,94558-4,阴性,2022-11-10 07:15,2022-11-10 14:30\n",
        encoding="utf-8",
    )

    result = runner.invoke(app, ["testing", "check-file", str(path), "--format", "csv"])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "1 accepted, 1 refused",
        "  3: testing.test_code_not_accepted tube ZZ0002: test code '94558-4' is not an "
        "accepted SARS-CoV-2 RNA LOINC code",
    ]


def test_it_exits_zero_for_a_clean_file() -> None:
    result = runner.invoke(app, ["testing", "check-file", str(TEMPLATE_PATH), "--format", "csv"])

    assert (result.exit_code, result.output) == (0, "1 accepted, 0 refused\n")
