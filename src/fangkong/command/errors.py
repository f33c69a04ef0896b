from enum import StrEnum


class CommandErrorCode(StrEnum):
    BULLETIN_NOT_FOUND = "command.bulletin_not_found"
    AREA_NOT_FOUND = "command.area_not_found"
    DAY_IN_FUTURE = "command.day_in_future"
    BAD_CUTOFF = "command.bad_cutoff"
