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
