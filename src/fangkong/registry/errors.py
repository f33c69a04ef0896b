"""Stable error codes of the registry.

The same codes are the reasons an import row is rejected, so a grid worker reading an import
report and a program reading an API answer see the same words (listed in ``docs/registry.md``).
"""

from enum import StrEnum


class RegistryErrorCode(StrEnum):
    AREA_NOT_FOUND = "registry.area_not_found"
    AREA_PARENT_NOT_FOUND = "registry.area_parent_not_found"
    AREA_CODE_TAKEN = "registry.area_code_taken"
    AREA_CODE_INVALID = "registry.area_code_invalid"
    AREA_PARENT_WRONG_LEVEL = "registry.area_parent_wrong_level"
    NAME_REQUIRED = "registry.name_required"
    COMPOUND_NOT_FOUND = "registry.compound_not_found"
    COMPOUND_NAME_TAKEN = "registry.compound_name_taken"
    BUILDING_NOT_FOUND = "registry.building_not_found"
    BUILDING_LABEL_TAKEN = "registry.building_label_taken"
    BUILDING_SIZE_INVALID = "registry.building_size_invalid"
    GRID_NOT_IN_COMMUNITY = "registry.grid_not_in_community"
    HOUSEHOLD_NOT_FOUND = "registry.household_not_found"
    HOUSEHOLD_TAKEN = "registry.household_taken"
    UNIT_OUT_OF_RANGE = "registry.unit_out_of_range"
    FLOOR_OUT_OF_RANGE = "registry.floor_out_of_range"
    ROOM_INVALID = "registry.room_invalid"
    PERSON_NOT_FOUND = "registry.person_not_found"
    WORKPLACE_NOT_FOUND = "registry.workplace_not_found"
    # Resident ID numbers (居民身份证号码)
    ID_FORMAT_INVALID = "registry.id_format_invalid"
    ID_CHECKSUM_INVALID = "registry.id_checksum_invalid"
    ID_BIRTH_DATE_INVALID = "registry.id_birth_date_invalid"
    ID_BIRTH_DATE_IN_FUTURE = "registry.id_birth_date_in_future"
    ID_REGION_UNKNOWN = "registry.id_region_unknown"
    ID_REGION_RETIRED = "registry.id_region_retired"
    ID_NUMBER_MASKED = "registry.id_number_masked"
    ID_NUMBER_TAKEN = "registry.id_number_taken"
    ID_NUMBER_REPEATED_IN_FILE = "registry.id_number_repeated_in_file"
    # Other documents and personal details
    DOCUMENT_TYPE_INVALID = "registry.document_type_invalid"
    DOCUMENT_NUMBER_INVALID = "registry.document_number_invalid"
    PHONE_INVALID = "registry.phone_invalid"
    SEX_INVALID = "registry.sex_invalid"
    SEX_CONTRADICTS_ID = "registry.sex_contradicts_id"
    BIRTH_DATE_INVALID = "registry.birth_date_invalid"
    BIRTH_DATE_CONTRADICTS_ID = "registry.birth_date_contradicts_id"
    TAG_UNKNOWN = "registry.tag_unknown"
    # Identity reveal, merges
    REASON_REQUIRED = "registry.reason_required"
    MERGE_PROPOSAL_NOT_FOUND = "registry.merge_proposal_not_found"
    MERGE_ALREADY_REVIEWED = "registry.merge_already_reviewed"
    MERGE_KEEP_INVALID = "registry.merge_keep_invalid"
    MERGE_PERSON_NOT_ACTIVE = "registry.merge_person_not_active"
    # Spreadsheets
    IMPORT_FILE_UNREADABLE = "registry.import_file_unreadable"
    IMPORT_COLUMN_MISSING = "registry.import_column_missing"
    IMPORT_TOO_MANY_ROWS = "registry.import_too_many_rows"
    EXPORT_FORMAT_INVALID = "registry.export_format_invalid"
