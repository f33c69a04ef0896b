"""Identifiers and opaque tokens."""

from __future__ import annotations

import hashlib
import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token (sessions, API tokens, CSRF)."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """What is stored for a bearer secret: its SHA-256, so a database leak reveals no token."""
    return hashlib.sha256(token.encode()).hexdigest()
