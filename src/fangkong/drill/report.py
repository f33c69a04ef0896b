"""The drill report: the truth against what the platform found and did, as JSON and HTML.

The report reads both sides (it is the only place besides the twin that reads the truth). The
JSON holds no wall-clock time and no database ids, so the same drill gives the same bytes.
"""

from __future__ import annotations

import html
import json
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fangkong.drill.loop import DrillRun


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


def curve_svg(report: dict[str, Any], width: int = 640, height: int = 240) -> str:
    """True infections, community infections and detected cases per day, as lines."""
    curve = report["curve"]
    pad = 36
    top = max([1] + [max(p["infections"], p["cases_found"]) for p in curve])
    span = max(len(curve) - 1, 1)

    def point(i: int, value: int) -> str:
        x = pad + (width - 2 * pad) * i / span
        y = height - pad - (height - 2 * pad) * value / top
        return f"{x:.1f},{y:.1f}"

    series = (
        ("infections", "#c0392b", "true infections"),
        ("community", "#e67e22", "community infections"),
        ("cases_found", "#2c3e50", "cases found"),
    )
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="epidemic curves">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#888"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>',
        f'<text x="4" y="{pad}" font-size="11">{top}</text>',
        f'<text x="{pad}" y="{height - 8}" font-size="11">day 0</text>',
        f'<text x="{width - pad - 30}" y="{height - 8}" font-size="11">day {span}</text>',
    ]
    for n, (key, colour, label) in enumerate(series):
        points = " ".join(point(i, p[key]) for i, p in enumerate(curve))
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        lines.append(
            f'<text x="{pad + 10 + 170 * n}" y="{pad - 12}" font-size="12" fill="{colour}">'
            f"{html.escape(label)}</text>"
        )
    lines.append("</svg>")
    return "\n".join(lines)


def to_html(report: dict[str, Any]) -> str:
    rows = [
        ("rule pack", report["config"]["pack_id"]),
        ("seed", report["config"]["seed"]),
        ("population", f"{report['population']:,}"),
        ("days run", f"{report['days_run']} ({report['stopped_because']})"),
        ("true infections", report["infections_true"]),
        ("cases detected", report["cases_detected"]),
        ("days to zero community infections", report["days_to_zero_community"] or "not reached"),
        ("samples / tubes / rounds",
         f"{report['samples']} / {report['tubes']} / {report['rounds']}"),
        ("person-days in isolation", report["person_days_isolation"]),
        ("person-days under area controls", report["person_days_area_controls"]),
        ("days infection → isolation (mean, median)",
         f"{report['days_infection_to_isolation']['mean']}, "
         f"{report['days_infection_to_isolation']['median']}"),
        ("days positive sample → isolation (mean, median)",
         f"{report['days_positive_sample_to_isolation']['mean']}, "
         f"{report['days_positive_sample_to_isolation']['median']}"),
        ("contacts found / true / both", f"{report['contacts']['found']} / "
         f"{report['contacts']['true']} / {report['contacts']['found_and_true']}"),
        ("contact recall, precision",
         f"{report['contacts']['recall']}, {report['contacts']['precision']}"),
    ]  # fmt: skip
    table = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    columns = (
        "day", "date", "true_infections", "community_infections", "cases_found", "samples",
        "tubes", "in_isolation", "under_area_controls", "risk_areas",
    )  # fmt: skip
    daily = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(d[k]))}</td>" for k in columns) + "</tr>"
        for d in report["daily"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drill report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}}
svg{{max-width:100%;height:auto}}</style></head>
<body><h1>Drill report (演练报告)</h1>
<table>{table}</table>
<h2>Epidemic curves: truth and detection</h2>
{curve_svg(report)}
<h2>Day by day</h2>
<table><tr><th>day</th><th>date</th><th>infected</th><th>community</th><th>cases found</th>
<th>samples</th><th>tubes</th><th>in isolation</th><th>under area controls</th>
<th>risk areas</th></tr>
{daily}</table>
</body></html>
"""


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True)


def write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write ``drill-report.json`` and ``drill-report.html`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "drill-report.json"
    html_path = directory / "drill-report.html"
    json_path.write_text(dumps(report), encoding="utf-8")
    html_path.write_text(to_html(report), encoding="utf-8")
    return json_path, html_path
