from enum import StrEnum


class AccountsErrorCode(StrEnum):
    USERNAME_TAKEN = "accounts.username_taken"
    USERNAME_INVALID = "accounts.username_invalid"
    PASSWORD_TOO_SHORT = "accounts.password_too_short"
    JURISDICTION_REQUIRED = "accounts.jurisdiction_required"
    JURISDICTION_OUTSIDE_CREATOR = "accounts.jurisdiction_outside_creator"
    USER_NOT_FOUND = "accounts.user_not_found"
