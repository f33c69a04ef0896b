from enum import IntEnum, StrEnum


class DoseSource(StrEnum):
    CSV = "csv"
    FHIR = "fhir"
    MANUAL = "manual"


class VaccinationLevel(IntEnum):
    """How far a person has got: each level includes the ones below it."""

    NONE = 0
    FIRST_DOSE = 1
    FULL_COURSE = 2
    BOOSTER = 3


class AgeGroup(StrEnum):
    AGE_3_11 = "3-11"
    AGE_12_17 = "12-17"
    AGE_18_59 = "18-59"
    AGE_60_69 = "60-69"
    AGE_70_79 = "70-79"
    AGE_80_PLUS = "80+"
