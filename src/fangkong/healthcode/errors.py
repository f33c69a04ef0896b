from enum import StrEnum


class HealthCodeErrorCode(StrEnum):
    TOKEN_MALFORMED = "healthcode.token_malformed"
    TOKEN_UNKNOWN_KEY = "healthcode.token_unknown_key"
    TOKEN_FORGED = "healthcode.token_forged"
    TOKEN_EXPIRED = "healthcode.token_expired"
    TOKEN_NOT_YET_VALID = "healthcode.token_not_yet_valid"
    TOKEN_REPLAYED = "healthcode.token_replayed"
