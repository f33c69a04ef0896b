"""What a drill records, per day and for the whole run: both sides, the truth and the platform."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DrillConfig:
    pack_id: str
    seed: int
    days: int
    preset: str = "omicron_ba5"
    seed_infections: int | None = None  # default: the twin parameters' value
    stop_at_zero: bool = True


@dataclass
class DayRecord:
    """One day of the drill, both sides: truth (the model) and what the platform did."""

    day: int
    date: str
    true_infections: int
    community_infections: int
    infectious: int
    cases_found: int
    samples: int
    tubes: int
    rounds: int
    in_isolation: int
    under_area_controls: int
    orders_made: int
    risk_areas: int
    codes_changed: int
    results: str = ""
    contacts_found: int = 0
    orders_released: int = 0
    orders_next_phase: int = 0
    orders_placed: int = 0
    orders_held: int = 0
    cases_reclassified: int = 0
    cases_to_hospital: int = 0
    cases_discharged: int = 0
    cases_died: int = 0
    in_care: int = 0
    codes: dict[str, int] = field(default_factory=dict)  # people holding each colour

    def bulletin(self) -> str:
        return (
            f"day {self.day:>2} {self.date}: {self.true_infections} infected "
            f"({self.community_infections} in the community), {self.cases_found} cases found; "
            f"{self.samples} sampled in {self.tubes} tubes; {self.in_isolation} in isolation, "
            f"{self.orders_made} new orders; {self.risk_areas} risk areas"
        )


@dataclass
class DrillRun:
    """Everything the report needs. Person keys are model indices."""

    config: DrillConfig
    population: int
    days: list[DayRecord] = field(default_factory=list)
    infection_day: dict[int, int] = field(default_factory=dict)
    infector: dict[int, int] = field(default_factory=dict)
    case_found_day: dict[int, int] = field(default_factory=dict)
    case_sample_day: dict[int, int] = field(default_factory=dict)
    contacts_found: set[int] = field(default_factory=set)
    isolated_days: dict[int, list[int]] = field(default_factory=dict)
    reclassified: dict[int, str] = field(default_factory=dict)  # person -> clinical type
    to_hospital_day: dict[int, int] = field(default_factory=dict)
    discharged_day: dict[int, int] = field(default_factory=dict)
    died_day: dict[int, int] = field(default_factory=dict)
    stopped_because: str = "day limit"
