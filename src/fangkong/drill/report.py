"""The drill report: the truth against what the platform found and did, as JSON and HTML.

The report reads both sides (it is the only place besides the twin that reads the truth). The
JSON holds no wall-clock time and no database ids, so the same drill gives the same bytes.
"""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from fangkong.drill.charts import PALETTE, Series, line_chart
from fangkong.drill.records import DrillRun
from fangkong.drill.text import LANGUAGE_TAGS, text


def _summary(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "median": None}
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 2),
        "median": statistics.median(values),
    }


def _first_isolated(run: DrillRun, person: int, from_day: int) -> int | None:
    return next((d for d in run.isolated_days.get(person, []) if d >= from_day), None)


def build(run: DrillRun) -> dict[str, Any]:
    """The report's figures (see docs/drills.md, "How to read a report")."""
    days = run.days
    infected = sum(d.true_infections for d in days)
    detected = set(run.case_found_day)
    days_to_zero = None
    for d in range(len(days)):
        if all(day.community_infections == 0 for day in days[d:]):
            days_to_zero = d
            break
    infection_to_isolation = []
    sample_to_isolation = []
    for person, found_on in sorted(run.case_found_day.items()):
        infected_on = run.infection_day.get(person)
        isolated_on = _first_isolated(run, person, infected_on or 0)
        # A case is isolated the morning after it is found, unless an order came first.
        isolated_on = found_on + 1 if isolated_on is None else min(isolated_on, found_on + 1)
        if infected_on is not None:
            infection_to_isolation.append(isolated_on - infected_on)
        sample_to_isolation.append(max(0, isolated_on - run.case_sample_day[person]))
    true_contacts = {
        person for person, source in run.infector.items() if source >= 0 and source in detected
    }
    found: set[int] = run.contacts_found
    hits = len(found & true_contacts)
    infected_people = set(run.infection_day)
    return {
        "config": asdict(run.config),
        "population": run.population,
        "days_run": len(days),
        "stopped_because": run.stopped_because,
        "infections_true": infected,
        "cases_detected": len(detected),
        "detected_share": round(len(detected) / infected, 4) if infected else None,
        "days_to_zero_community": days_to_zero,
        "samples": sum(d.samples for d in days),
        "tubes": sum(d.tubes for d in days),
        "rounds": sum(d.rounds for d in days),
        "person_days_isolation": sum(d.in_isolation for d in days),
        "person_days_area_controls": sum(d.under_area_controls for d in days),
        "days_infection_to_isolation": _summary(infection_to_isolation),
        "days_positive_sample_to_isolation": _summary(sample_to_isolation),
        "contacts": {
            "found": len(found),
            "true": len(true_contacts),
            "found_and_true": hits,
            "recall": round(hits / len(true_contacts), 4) if true_contacts else None,
            "precision": round(hits / len(found), 4) if found else None,
            "found_infected_at_all": len(found & infected_people),
        },
        "care": {
            "reclassified": len(run.reclassified),
            "reclassified_by_type": dict(Counter(sorted(run.reclassified.values()))),
            "to_hospital": len(run.to_hospital_day),
            "discharged": len(run.discharged_day),
            "died": len(run.died_day),
            "in_care_at_end": len(detected) - len(run.discharged_day) - len(run.died_day),
            "days_in_care": _summary(
                [day - run.case_found_day[p] for p, day in sorted(run.discharged_day.items())]
            ),
        },
        "curve": [
            {
                "day": d.day,
                "date": d.date,
                "infections": d.true_infections,
                "community": d.community_infections,
                "cases_found": d.cases_found,
            }
            for d in days
        ],
        "daily": [asdict(d) for d in days],
    }


def _pair(summary: dict[str, Any]) -> str:
    return f"{summary['mean']}, {summary['median']}"


def curve_svg(report: dict[str, Any], locale: str = "zh_CN") -> str:
    """True infections, community infections and detected cases per day, as lines."""
    curve = report["curve"]
    return line_chart(
        title=text("curves", locale),
        day_label=text("day", locale),
        series=[
            Series(text(label, locale), [p[key] for p in curve], colour)
            for (key, label), colour in zip(
                (
                    ("infections", "true infections"),
                    ("community", "community infections"),
                    ("cases_found", "cases found"),
                ),
                PALETTE,
                strict=False,
            )
        ],
    )


DAILY_COLUMNS = (
    ("day", "day"), ("date", "date"), ("true_infections", "infected"),
    ("community_infections", "community"), ("cases_found", "cases found"),
    ("samples", "samples"), ("tubes", "tubes"), ("in_isolation", "in isolation"),
    ("under_area_controls", "under area controls"), ("risk_areas", "risk areas"),
    ("cases_reclassified", "reclassified"), ("cases_discharged", "discharged"),
    ("in_care", "in care"),
)  # fmt: skip


def to_html(report: dict[str, Any], locale: str = "zh_CN") -> str:
    """The report as one HTML page in ``locale`` (zh_CN or en)."""
    t = partial(text, locale=locale)
    care = report["care"]
    contacts = report["contacts"]
    rows = [
        (t("rule pack"), report["config"]["pack_id"]),
        (t("seed"), report["config"]["seed"]),
        (t("population"), f"{report['population']:,}"),
        (t("days run"), f"{report['days_run']} ({report['stopped_because']})"),
        (t("true infections"), report["infections_true"]),
        (t("cases detected"), report["cases_detected"]),
        (t("days to zero community"),
         report["days_to_zero_community"] if report["days_to_zero_community"] is not None
         else t("not reached")),
        (t("samples / tubes / rounds"),
         f"{report['samples']} / {report['tubes']} / {report['rounds']}"),
        (t("person-days isolated"), report["person_days_isolation"]),
        (t("person-days under controls"), report["person_days_area_controls"]),
        (t("infection to isolation"), _pair(report["days_infection_to_isolation"])),
        (t("sample to isolation"), _pair(report["days_positive_sample_to_isolation"])),
        (t("contacts found / true / both"),
         f"{contacts['found']} / {contacts['true']} / {contacts['found_and_true']}"),
        (t("contact recall, precision"), f"{contacts['recall']}, {contacts['precision']}"),
        (t("reclassified"), care["reclassified"]),
        (t("to hospital"), care["to_hospital"]),
        (t("discharged"), care["discharged"]),
        (t("died"), care["died"]),
        (t("in care at the end"), care["in_care_at_end"]),
        (t("days in care"), _pair(care["days_in_care"])),
    ]  # fmt: skip
    table = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    head = "".join(f"<th>{html.escape(t(label))}</th>" for _, label in DAILY_COLUMNS)
    daily = "\n".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(d.get(k, '')))}</td>" for k, _ in DAILY_COLUMNS)
        + "</tr>"
        for d in report["daily"]
    )
    return page(
        locale=locale,
        title=t("title"),
        body=f"""<table>{table}</table>
<h2>{html.escape(t("curves"))}</h2>
{curve_svg(report, locale)}
<h2>{html.escape(t("day by day"))}</h2>
<table><tr>{head}</tr>
{daily}</table>""",
    )


def page(*, locale: str, title: str, body: str) -> str:
    """A self-contained HTML page (inline style and SVG only)."""
    return f"""<!doctype html>
<html lang="{LANGUAGE_TAGS.get(locale, "zh-CN")}"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:64rem;margin:1rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}}
svg{{max-width:100%;height:auto;display:block;margin:.5rem 0 1rem}}</style></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>
"""


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True)


def write(report: dict[str, Any], directory: Path, locale: str = "zh_CN") -> tuple[Path, Path]:
    """Write ``drill-report.json`` and ``drill-report.html`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "drill-report.json"
    html_path = directory / "drill-report.html"
    json_path.write_text(dumps(report), encoding="utf-8")
    html_path.write_text(to_html(report, locale), encoding="utf-8")
    return json_path, html_path
