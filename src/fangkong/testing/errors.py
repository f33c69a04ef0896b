"""Stable refusal codes of the testing domain (see ``docs/testing.md`` for every one)."""

from __future__ import annotations

from enum import StrEnum

from fangkong.core.errors import FangkongError


class TestingErrorCode(StrEnum):
    __test__ = False  # the name starts with "Test"; pytest must not collect it

    # Whole-file refusals: the file could not be read at all.
    FILE_UNREADABLE = "testing.file_unreadable"
    FILE_EMPTY = "testing.file_empty"
    CSV_HEADER_INVALID = "testing.csv_header_invalid"
    FHIR_RESOURCE_UNSUPPORTED = "testing.fhir_resource_unsupported"
    FHIR_BUNDLE_TYPE_UNSUPPORTED = "testing.fhir_bundle_type_unsupported"
    # Batch envelope problems: reported, but every readable record is kept.
    HL7_BATCH_COUNT_MISMATCH = "testing.hl7_batch_count_mismatch"
    HL7_BATCH_STRUCTURE = "testing.hl7_batch_structure"
    # Per-record refusals.
    HL7_SEGMENT_MALFORMED = "testing.hl7_segment_malformed"
    HL7_MESSAGE_TYPE_UNSUPPORTED = "testing.hl7_message_type_unsupported"
    HL7_VERSION_UNSUPPORTED = "testing.hl7_version_unsupported"
    CSV_ROW_MALFORMED = "testing.csv_row_malformed"
    FHIR_OBSERVATION_MALFORMED = "testing.fhir_observation_malformed"
    TEST_CODE_NOT_ACCEPTED = "testing.test_code_not_accepted"
    RESULT_MISSING = "testing.result_missing"
    RESULT_CODE_UNKNOWN = "testing.result_code_unknown"
    RESULT_NOT_FINAL = "testing.result_not_final"
    TUBE_ID_MISSING = "testing.tube_id_missing"
    TUBE_ID_INVALID = "testing.tube_id_invalid"
    TIMESTAMP_MISSING = "testing.timestamp_missing"
    TIMESTAMP_INVALID = "testing.timestamp_invalid"
    TIMESTAMP_ORDER = "testing.timestamp_order"
    CT_VALUE_INVALID = "testing.ct_value_invalid"
    CT_WITHOUT_RESULT = "testing.ct_without_result"
    LAB_ID_MISSING = "testing.lab_id_missing"
    MESSAGE_ID_MISSING = "testing.message_id_missing"
    DUPLICATE_RECORD = "testing.duplicate_record"
    # Registration codes.
    CODE_MALFORMED = "testing.code_malformed"
    CODE_FORGED = "testing.code_forged"
    CODE_EXPIRED = "testing.code_expired"
    CODE_NOT_YET_VALID = "testing.code_not_yet_valid"
    CODE_MEMBER_NOT_COVERED = "testing.code_member_not_covered"
    # Campaigns and sampling.
    CAMPAIGN_NOT_FOUND = "testing.campaign_not_found"
    CAMPAIGN_NOT_OPEN = "testing.campaign_not_open"
    CAMPAIGN_WINDOW_INVALID = "testing.campaign_window_invalid"
    CAMPAIGN_NOT_CLOSED = "testing.campaign_not_closed"
    BUILDING_NOT_IN_ROUND = "testing.building_not_in_round"
    ALERT_NOT_FOUND = "testing.alert_not_found"
    SCHEDULE_INVALID = "testing.schedule_invalid"
    ALERT_ALREADY_ACKNOWLEDGED = "testing.alert_already_acknowledged"
    POOL_SIZE_ABOVE_CAMPAIGN_CAP = "testing.pool_size_above_campaign_cap"
    TUBE_NOT_FOUND = "testing.tube_not_found"
    TUBE_BARCODE_TAKEN = "testing.tube_barcode_taken"
    TUBE_NOT_OPEN = "testing.tube_not_open"
    TUBE_FULL = "testing.tube_full"
    TUBE_EMPTY = "testing.tube_empty"
    POOL_SIZE_INVALID = "testing.pool_size_invalid"
    PERSON_ALREADY_IN_TUBE = "testing.person_already_in_tube"
    PERSON_NOT_FOUND = "testing.person_not_found"
    # The sampling scan API.
    SCAN_INPUT_INVALID = "testing.scan_input_invalid"
    SCAN_NOT_STORED = "testing.scan_not_stored"
    SCAN_APPLY_FAILED = "testing.scan_apply_failed"
    # Printable labels.
    BUILDING_NOT_FOUND = "testing.building_not_found"
    LABEL_RANGE_INVALID = "testing.label_range_invalid"
    # Pool planning inputs.
    POOL_INPUT_INVALID = "testing.pool_input_invalid"


class TestingError(FangkongError):
    """A refusal raised by the testing domain (bad code, bad planning input)."""

    __test__ = False
