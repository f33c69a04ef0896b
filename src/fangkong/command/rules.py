"""Pure rules of the command centre: the day's window, the identities the figures obey from one
day to the next, and the bulletin text in Chinese and English. No database, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FLOWS: tuple[tuple[str, str], ...] = (
    ("new_confirmed", "cumulative_confirmed"),
    ("new_asymptomatic", "cumulative_asymptomatic"),
    ("reclassified", "cumulative_reclassified"),
    ("new_cured", "cumulative_cured"),
    ("new_deaths", "cumulative_deaths"),
    ("new_released", "cumulative_released"),
    ("tests", "cumulative_tests"),
)


@dataclass(frozen=True)
class Figures:
    """One area's figures for one day (the numbers of :class:`models.DailyFigures`)."""

    new_confirmed: int = 0
    new_asymptomatic: int = 0
    reclassified: int = 0
    new_cured: int = 0
    new_deaths: int = 0
    new_released: int = 0
    cumulative_confirmed: int = 0
    cumulative_asymptomatic: int = 0
    cumulative_reclassified: int = 0
    cumulative_cured: int = 0
    cumulative_deaths: int = 0
    cumulative_released: int = 0
    under_treatment: int = 0
    under_observation: int = 0
    tests: int = 0
    cumulative_tests: int = 0
    risk_areas_added: int = 0
    risk_areas_lifted: int = 0
    risk_areas_in_force: int = 0
    centralised_isolation: int = 0
    home_isolation: int = 0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.names()}


def cutoff_hour_valid(hour: int) -> bool:
    return 1 <= hour <= 24


def day_window(day: date, *, cutoff_hour: int, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants ``[start, end)`` of a reporting day: from the previous day's cut-off to
    this day's (24 = local midnight at the end of ``day``)."""
    if not cutoff_hour_valid(cutoff_hour):
        raise ValueError(f"the cut-off hour is 1..24, not {cutoff_hour}")
    zone = ZoneInfo(timezone)
    end_local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=cutoff_hour)
    start_local = end_local - timedelta(days=1)
    return start_local.astimezone(UTC), end_local.astimezone(UTC)


def identity_errors(previous: Figures | None, current: Figures) -> list[str]:
    """Every identity the figures break, named (an empty list when they add up).

    Within a day: under treatment = confirmed - cured - deaths; under observation = asymptomatic
    - reclassified - released. From the previous day: each cumulative figure is yesterday's plus
    today's new figure, and risk areas in force are yesterday's plus added minus lifted.
    """
    errors: list[str] = []
    if current.under_treatment != (
        current.cumulative_confirmed - current.cumulative_cured - current.cumulative_deaths
    ):
        errors.append("under_treatment")
    if current.under_observation != (
        current.cumulative_asymptomatic
        - current.cumulative_reclassified
        - current.cumulative_released
    ):
        errors.append("under_observation")
    if previous is not None:
        for new, cumulative in FLOWS:
            if getattr(current, cumulative) != getattr(previous, cumulative) + getattr(
                current, new
            ):
                errors.append(cumulative)
        if current.risk_areas_in_force != (
            previous.risk_areas_in_force + current.risk_areas_added - current.risk_areas_lifted
        ):
            errors.append("risk_areas_in_force")
    return errors


def sum_errors(city: Figures, districts: Sequence[Figures]) -> list[str]:
    """The figures where the districts do not add up to the city (when every case, test and
    order of the city lies in one of its districts)."""
    return [
        name
        for name in Figures.names()
        if getattr(city, name) != sum(getattr(d, name) for d in districts)
    ]


def _by_district_zh(parts: Sequence[tuple[str, int]]) -> str:
    shown = [f"{name}{count}例" for name, count in parts if count]
    return f"（{'、'.join(shown)}）" if shown else ""


def _by_district_en(parts: Sequence[tuple[str, int]]) -> str:
    shown = [f"{name} {count}" for name, count in parts if count]
    return f" ({', '.join(shown)})" if shown else ""


def bulletin_zh(
    *, city: str, day: date, cutoff_hour: int, figures: Figures, districts: Mapping[str, Figures]
) -> str:
    """The bulletin in the form the reference city published (株洲市新冠肺炎疫情情况)."""
    f = figures
    md = f"{day.month}月{day.day}日"
    confirmed_parts = [(name, d.new_confirmed) for name, d in districts.items()]
    asymptomatic_parts = [(name, d.new_asymptomatic) for name, d in districts.items()]
    window = (
        f"0—{cutoff_hour}时" if cutoff_hour == 24 else f"前一日{cutoff_hour}时至{cutoff_hour}时"
    )
    lines = [
        f"{city}{day.year}年{md}新冠肺炎疫情情况",
        "",
        f"{md}{window}，{city}新增本土确诊病例{f.new_confirmed}例"
        f"{_by_district_zh(confirmed_parts)}，其中无症状感染者转为确诊病例{f.reclassified}例；"
        f"新增本土无症状感染者{f.new_asymptomatic}例{_by_district_zh(asymptomatic_parts)}。"
        f"新增治愈出院{f.new_cured}例，新增解除医学观察无症状感染者{f.new_released}例，"
        f"新增死亡病例{f.new_deaths}例。",
        "",
        f"截至{md}{cutoff_hour}时，{city}现有确诊病例{f.under_treatment}例，"
        f"现有无症状感染者{f.under_observation}例（正在接受医学观察）。"
        f"累计报告确诊病例{f.cumulative_confirmed}例，累计治愈出院{f.cumulative_cured}例，"
        f"累计死亡{f.cumulative_deaths}例；累计报告无症状感染者{f.cumulative_asymptomatic}例，"
        f"累计转为确诊病例{f.cumulative_reclassified}例，"
        f"累计解除医学观察{f.cumulative_released}例。",
        "",
        f"当日完成核酸检测{f.tests}人次，累计完成{f.cumulative_tests}人次。"
        f"当日新增风险区{f.risk_areas_added}个，解除风险区{f.risk_areas_lifted}个，"
        f"现有风险区{f.risk_areas_in_force}个。"
        f"目前集中隔离医学观察{f.centralised_isolation}人，"
        f"居家隔离医学观察{f.home_isolation}人。",
    ]
    return "\n".join(lines) + "\n"


def bulletin_en(
    *, city: str, day: date, cutoff_hour: int, figures: Figures, districts: Mapping[str, Figures]
) -> str:
    f = figures
    when = f"{day:%d %B %Y}"
    confirmed_parts = [(name, d.new_confirmed) for name, d in districts.items()]
    asymptomatic_parts = [(name, d.new_asymptomatic) for name, d in districts.items()]
    lines = [
        f"{city}: COVID-19 situation on {when}",
        "",
        f"In the 24 hours to {cutoff_hour:02d}:00 on {when}, {city} reported "
        f"{f.new_confirmed} new local confirmed case(s){_by_district_en(confirmed_parts)}, "
        f"of which {f.reclassified} were asymptomatic infections reclassified as confirmed, "
        f"and {f.new_asymptomatic} new local asymptomatic infection(s)"
        f"{_by_district_en(asymptomatic_parts)}. "
        f"{f.new_cured} case(s) were cured and discharged, {f.new_released} asymptomatic "
        f"infection(s) were released from medical observation, and {f.new_deaths} death(s) "
        "were reported.",
        "",
        f"As of {cutoff_hour:02d}:00, {f.under_treatment} confirmed case(s) are under treatment "
        f"and {f.under_observation} asymptomatic infection(s) are under medical observation. "
        f"Since the start of the outbreak: {f.cumulative_confirmed} confirmed case(s), "
        f"{f.cumulative_cured} cured, {f.cumulative_deaths} death(s); "
        f"{f.cumulative_asymptomatic} asymptomatic infection(s), "
        f"{f.cumulative_reclassified} reclassified as confirmed, "
        f"{f.cumulative_released} released from medical observation.",
        "",
        f"{f.tests} nucleic-acid test(s) were completed on the day, {f.cumulative_tests} in all. "
        f"{f.risk_areas_added} risk area(s) were added and {f.risk_areas_lifted} lifted; "
        f"{f.risk_areas_in_force} are in force. {f.centralised_isolation} people are in "
        f"centralised isolation and {f.home_isolation} in home isolation.",
    ]
    return "\n".join(lines) + "\n"


def mask_name(name: str) -> str:
    """A name as the lists show it: the family name and one mark per other character."""
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def ranking(counts: Mapping[str, int]) -> list[tuple[int, str, int]]:
    """Districts ranked for the "competition" (竞赛比拼): fewest outstanding first, ties share a
    rank, then by name."""
    ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]))
    ranked: list[tuple[int, str, int]] = []
    for position, (name, count) in enumerate(ordered, start=1):
        rank = ranked[-1][0] if ranked and ranked[-1][2] == count else position
        ranked.append((rank, name, count))
    return ranked


@dataclass(frozen=True)
class Tile:
    """One area's rectangle on the schematic map (0..1 coordinates)."""

    key: str
    x: float
    y: float
    w: float
    h: float


def treemap(
    weights: Sequence[tuple[str, int]],
    *,
    x: float = 0.0,
    y: float = 0.0,
    w: float = 1.0,
    h: float = 1.0,
) -> list[Tile]:
    """A deterministic layout of ``(key, weight)`` in the rectangle: the list (in the given order)
    is cut in two halves of near-equal weight, side by side along the longer side, recursively.
    A zero weight counts as one so that an empty area still gets a tile."""
    if not weights:
        return []
    if len(weights) == 1:
        return [Tile(weights[0][0], x, y, w, h)]
    sizes = [max(weight, 1) for _, weight in weights]
    total = sum(sizes)
    running, cut = 0, 1
    for index, size in enumerate(sizes[:-1], start=1):
        running += size
        cut = index
        if running * 2 >= total:
            break
    share = sum(sizes[:cut]) / total
    if w >= h:
        first = treemap(weights[:cut], x=x, y=y, w=w * share, h=h)
        rest = treemap(weights[cut:], x=x + w * share, y=y, w=w * (1 - share), h=h)
    else:
        first = treemap(weights[:cut], x=x, y=y, w=w, h=h * share)
        rest = treemap(weights[cut:], x=x, y=y + h * share, w=w, h=h * (1 - share))
    return first + rest


# Colour steps for current cases per 100,000 residents (upper bounds, last is open-ended).
RATE_STEPS: tuple[tuple[float, str], ...] = (
    (0.0, "#e8f5e9"),
    (10.0, "#fff3c4"),
    (50.0, "#ffcc80"),
    (100.0, "#ef8a62"),
    (float("inf"), "#b3261e"),
)


def per_100k(cases: int, population: int) -> float:
    return round(100_000 * cases / population, 1) if population else 0.0


def rate_colour(rate: float) -> str:
    """The fill of a tile: the first step whose bound the rate does not exceed."""
    for bound, colour in RATE_STEPS:
        if rate <= bound:
            return colour
    return RATE_STEPS[-1][1]
