from enum import StrEnum


class CityErrorCode(StrEnum):
    CITY_EXISTS = "sim.city_exists"
    DIVISIONS_MISSING = "sim.divisions_missing"
