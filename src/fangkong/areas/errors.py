from enum import StrEnum


class AreasErrorCode(StrEnum):
    DESIGNATION_NOT_FOUND = "areas.designation_not_found"
    TARGET_NOT_FOUND = "areas.target_not_found"
    LEVEL_NOT_IN_PACK = "areas.level_not_in_pack"
    STATUS_CONFLICT = "areas.status_conflict"
    CASE_OPEN = "areas.case_open"
    NO_PENDING_CHANGE = "areas.no_pending_change"
    REASON_REQUIRED = "areas.reason_required"
    DAY_IN_FUTURE = "areas.day_in_future"
