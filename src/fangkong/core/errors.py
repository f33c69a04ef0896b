"""Stable machine-readable errors.

Every refusal the platform gives carries a code from a ``StrEnum`` (one per domain), the field it
concerns when there is one, and a human message. HTTP bodies have the shape
``{"code": ..., "field": ..., "message": ...}``; tests assert on the enum, never on the message.
"""

from __future__ import annotations

from enum import StrEnum


class CoreErrorCode(StrEnum):
    REQUEST_INVALID = "request.invalid"
    NOT_FOUND = "request.not_found"
    AUTH_REQUIRED = "auth.required"
    AUTH_INVALID_CREDENTIALS = "auth.invalid_credentials"
    AUTH_THROTTLED = "auth.throttled"
    AUTH_SESSION_EXPIRED = "auth.session_expired"
    AUTH_TOKEN_INVALID = "auth.token_invalid"
    AUTH_CSRF_FAILED = "auth.csrf_failed"
    AUTH_USER_DISABLED = "auth.user_disabled"
    PERMISSION_DENIED = "permission.denied"
    OUTSIDE_JURISDICTION = "permission.outside_jurisdiction"
    CONFLICT = "request.conflict"
    CRYPTO_UNKNOWN_KEY = "crypto.unknown_key"
    CRYPTO_TAMPERED = "crypto.tampered"


class FangkongError(Exception):
    """A refusal with a stable code. ``status`` is the HTTP status the web layer answers with."""

    status: int = 400

    def __init__(
        self,
        code: StrEnum,
        message: str,
        *,
        field: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def body(self) -> dict[str, str | None]:
        return {"code": str(self.code), "field": self.field, "message": self.message}


class NotFound(FangkongError):
    status = 404


class PermissionDenied(FangkongError):
    status = 403


class AuthenticationFailed(FangkongError):
    status = 401


class Conflict(FangkongError):
    status = 409
