from enum import StrEnum

from fangkong.core.errors import Conflict, FangkongError, NotFound


class HealthCodeErrorCode(StrEnum):
    TOKEN_MALFORMED = "healthcode.token_malformed"
    TOKEN_UNKNOWN_KEY = "healthcode.token_unknown_key"
    TOKEN_FORGED = "healthcode.token_forged"
    TOKEN_EXPIRED = "healthcode.token_expired"
    TOKEN_NOT_YET_VALID = "healthcode.token_not_yet_valid"
    TOKEN_REPLAYED = "healthcode.token_replayed"
    PERSON_NOT_FOUND = "healthcode.person_not_found"
    NO_CODE = "healthcode.no_code"
    OVERRIDE_REASON_REQUIRED = "healthcode.override_reason_required"
    OVERRIDE_EXPIRY_REQUIRED = "healthcode.override_expiry_required"
    OVERRIDE_EXPIRY_IN_PAST = "healthcode.override_expiry_in_past"
    OVERRIDE_EXPIRY_TOO_FAR = "healthcode.override_expiry_too_far"
    OVERRIDE_COLOUR_UNKNOWN = "healthcode.override_colour_unknown"
    OVERRIDE_NOT_FOUND = "healthcode.override_not_found"
    OVERRIDE_NOT_PENDING = "healthcode.override_not_pending"
    OVERRIDE_NOT_ACTIVE = "healthcode.override_not_active"
    OVERRIDE_SAME_APPROVER = "healthcode.override_same_approver"
    APPEAL_TEXT_REQUIRED = "healthcode.appeal_text_required"
    APPEAL_ALREADY_OPEN = "healthcode.appeal_already_open"
    APPEAL_NOT_FOUND = "healthcode.appeal_not_found"
    APPEAL_NOT_OPEN = "healthcode.appeal_not_open"
    APPEAL_REASON_REQUIRED = "healthcode.appeal_reason_required"
    APPEAL_DECISION_UNKNOWN = "healthcode.appeal_decision_unknown"


class HealthCodeError(FangkongError):
    """Bad input to a health-code action (400)."""


class HealthCodeNotFound(NotFound):
    pass


class HealthCodeConflict(Conflict):
    pass
