"""Response bodies of the vaccination API and the status other domains read."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class ImportProblem(BaseModel):
    record: str
    code: str
    field: str | None
    message: str


class ImportReport(BaseModel):
    accepted: int
    already_present: int
    refused: list[ImportProblem]


class VaccinationStatus(BaseModel):
    """What the health-code display shows about a person's vaccination."""

    person_id: int
    level: int  # VaccinationLevel
    level_name: str
    doses: int
    last_dose_on: date | None
    first_product: str | None


class CoverageRow(BaseModel):
    area_path: str
    age_group: str
    population: int
    first_dose: int
    full_course: int
    booster: int
    first_dose_rate: float | None
    full_course_rate: float | None
    booster_rate: float | None
    first_dose_target: float
    full_course_target: float
    booster_target: float
    first_dose_gap: float | None  # rate − target (negative: below target)
    full_course_gap: float | None
    booster_gap: float | None


class UnvaccinatedPerson(BaseModel):
    person_id: int
    name: str
    id_number_masked: str
    age: int


class UnvaccinatedGrid(BaseModel):
    area_path: str
    persons: list[UnvaccinatedPerson]
