from enum import StrEnum


class TracingErrorCode(StrEnum):
    """Refusals of the tracing domain. ``scan.*`` codes are per record: a batch stores its good
    records and reports each bad one with one of them."""

    SCAN_MALFORMED = "scan.malformed"
    SCAN_TIME_NAIVE = "scan.time_naive"
    SCAN_IN_FUTURE = "scan.in_future"
    SCAN_UNKNOWN_PERSON = "scan.unknown_person"
    SCAN_UNKNOWN_VENUE = "scan.unknown_venue"
    SCAN_VENUE_OUTSIDE_JURISDICTION = "scan.venue_outside_jurisdiction"
    SCANS_BATCH_TOO_LARGE = "scans.batch_too_large"
    SCANS_BATCH_EMPTY = "scans.batch_empty"
    IMPORT_FORMAT_UNKNOWN = "scans.import_format_unknown"
    IMPORT_COLUMNS_MISSING = "scans.import_columns_missing"
    RETENTION_INVALID = "scans.retention_invalid"
    EXPOSURE_INVALID = "tracing.exposure_invalid"

    CASE_NOT_FOUND = "case.not_found"
    CASE_UNKNOWN_PERSON = "case.unknown_person"
    CASE_PERSON_ALREADY_CASE = "case.person_already_case"
    CASE_DATE_IN_FUTURE = "case.date_in_future"
    CASE_TIME_NAIVE = "case.time_naive"
    CASE_SEVERITY_INVALID = "case.severity_invalid"
    CASE_STATUS_TRANSITION = "case.status_transition"
    CASE_RECLASSIFY_INVALID = "case.reclassify_invalid"
    CASE_CONFLICT = "case.conflict"

    INVESTIGATION_NOT_FOUND = "investigation.not_found"
    INVESTIGATION_OUTSIDE_JURISDICTION = "investigation.outside_jurisdiction"
    INVESTIGATION_CONFIRMED = "investigation.already_confirmed"
    TRAJECTORY_ENTRY_NOT_FOUND = "trajectory.entry_not_found"
    TRAJECTORY_ENTRY_INVALID = "trajectory.entry_invalid"
    TRAJECTORY_UNKNOWN_VENUE = "trajectory.unknown_venue"

    JOURNEY_INVALID = "journey.invalid"

    CONTACT_NOT_FOUND = "contact.not_found"
    CONTACT_STATUS_CONFLICT = "contact.status_conflict"

    SELF_CHECK_NO_PERSON = "selfcheck.no_person"
    SELF_CHECK_THROTTLED = "selfcheck.throttled"
    SELF_CHECK_TOO_MANY_ITEMS = "selfcheck.too_many_items"
    SELF_CHECK_ITEM_INVALID = "selfcheck.item_invalid"
    SELF_CHECK_SPAN_TOO_LONG = "selfcheck.span_too_long"
    SELF_CHECK_OUT_OF_WINDOW = "selfcheck.out_of_window"
    SELF_CHECK_UNKNOWN_VENUE = "selfcheck.unknown_venue"
    SELF_CHECK_UNKNOWN_AREA = "selfcheck.unknown_area"
