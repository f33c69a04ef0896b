from enum import StrEnum


class IsolationErrorCode(StrEnum):
    FACILITY_NOT_FOUND = "isolation.facility_not_found"
    ROOM_NOT_FOUND = "isolation.room_not_found"
    ORDER_NOT_FOUND = "isolation.order_not_found"
    PERSON_NOT_FOUND = "isolation.person_not_found"
    CATEGORY_NOT_IN_PACK = "isolation.category_not_in_pack"
    ROOM_FULL = "isolation.room_full"
    FACILITY_NOT_IN_USE = "isolation.facility_not_in_use"
    FACILITY_OCCUPIED = "isolation.facility_occupied"
    NOT_CENTRALISED = "isolation.not_centralised"
    ALREADY_ASSIGNED = "isolation.already_assigned"
    STATUS_CONFLICT = "isolation.status_conflict"
    TESTS_MISSING = "isolation.tests_missing"
    TEST_POSITIVE = "isolation.test_positive"
    NOT_DUE = "isolation.not_due"
    TEST_DAY_OUT_OF_PHASE = "isolation.test_day_out_of_phase"
    REASON_REQUIRED = "isolation.reason_required"
    END_BEFORE_START = "isolation.end_before_start"
