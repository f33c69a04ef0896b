from enum import StrEnum


class RegistryErrorCode(StrEnum):
    AREA_NOT_FOUND = "registry.area_not_found"
    AREA_PARENT_NOT_FOUND = "registry.area_parent_not_found"
    AREA_CODE_TAKEN = "registry.area_code_taken"
