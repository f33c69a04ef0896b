"""Signed, rotating code tokens: what a person's phone shows as a QR code, checked offline.

A token is ``FK1.<payload>.<signature>`` (base64url, no padding). The payload is compact JSON
``{"v": 1, "k": key id, "p": person reference, "c": colour, "iat": issued-at (Unix seconds),
"n": 16-byte nonce}``; the signature is Ed25519 over ``FK1.<payload>``. A checkpoint holds only
public keys, so it can verify with no network.

A token is valid for ``TOKEN_LIFETIME`` (one minute) after it was issued, give or take
``CLOCK_SKEW`` for device clocks. Within that minute a screenshot could be shown twice; a
checkpoint stops that with a ``ReplayWindow``: it remembers each accepted nonce until the token
would have expired anyway, so its memory holds at most the tokens of the last minute or so.
A city-wide guard can implement the same insert-if-absent-with-expiry on a shared store.

``p`` must be an opaque reference (never an ID number): the payload is signed, not encrypted.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fangkong.core.crypto import parse_keyring
from fangkong.core.errors import FangkongError
from fangkong.healthcode.errors import HealthCodeErrorCode

PREFIX = "FK1"
FORMAT_VERSION = 1
NONCE_BYTES = 16
TOKEN_LIFETIME = timedelta(minutes=1)
# Phones and scanners drift; a few seconds either way is tolerated, no more.
CLOCK_SKEW = timedelta(seconds=5)


class TokenRefused(FangkongError):
    status = 401


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True)
class CodeToken:
    """The verified contents of a token."""

    key_id: str
    person_ref: str
    colour: str
    issued_at: datetime
    nonce: str

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + TOKEN_LIFETIME


def signing_keys(spec: str) -> tuple[SigningKey, ...]:
    """Parse ``FANGKONG_CODE_SIGNING_KEY`` (``"kid:base64url(32-byte seed)[,kid2:...]"``): the
    first key signs, every key's public half verifies (so keys can be rotated)."""
    return tuple(
        SigningKey(key_id, Ed25519PrivateKey.from_private_bytes(seed))
        for key_id, seed in parse_keyring(spec)
    )


def public_keys_text(keys: tuple[SigningKey, ...]) -> str:
    """The public keys in the same ``kid:base64url`` format, to install on checkpoints."""
    return ",".join(
        f"{key.key_id}:{_b64(key.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))}"
        for key in keys
    )


def parse_public_keys(spec: str) -> dict[str, Ed25519PublicKey]:
    return {kid: Ed25519PublicKey.from_public_bytes(raw) for kid, raw in parse_keyring(spec)}


def issue(
    *, key: SigningKey, person_ref: str, colour: str, now: datetime, nonce: bytes | None = None
) -> str:
    """A token for ``person_ref`` showing ``colour``, issued at ``now`` (whole seconds)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    payload = {
        "v": FORMAT_VERSION,
        "k": key.key_id,
        "p": person_ref,
        "c": colour,
        "iat": int(now.timestamp()),
        "n": _b64(nonce if nonce is not None else os.urandom(NONCE_BYTES)),
    }
    body = f"{PREFIX}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
    return f"{body}.{_b64(key.private_key.sign(body.encode()))}"


def verify(
    *,
    token: str,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    replay_window: ReplayWindow | None = None,
) -> CodeToken:
    """Check a token offline; refuses with ``TokenRefused`` (code from ``HealthCodeErrorCode``).

    Order matters: the signature is checked before the time and the replay window, so a forged
    token can neither learn anything from the answer nor fill the checkpoint's memory.
    """
    claims, body, signature = _parse(token)
    public_key = public_keys.get(claims.key_id)
    if public_key is None:
        raise TokenRefused(
            HealthCodeErrorCode.TOKEN_UNKNOWN_KEY,
            f"token signed with unknown key {claims.key_id!r}",
            field="token",
        )
    try:
        public_key.verify(signature, body.encode())
    except InvalidSignature:
        raise TokenRefused(
            HealthCodeErrorCode.TOKEN_FORGED, "token signature does not verify", field="token"
        ) from None
    if now < claims.issued_at - CLOCK_SKEW:
        raise TokenRefused(
            HealthCodeErrorCode.TOKEN_NOT_YET_VALID, "token issued in the future", field="token"
        )
    if now >= claims.expires_at + CLOCK_SKEW:
        raise TokenRefused(HealthCodeErrorCode.TOKEN_EXPIRED, "token expired", field="token")
    if replay_window is not None:
        replay_window.admit(nonce=claims.nonce, expires_at=claims.expires_at + CLOCK_SKEW, now=now)
    return claims


@dataclass
class ReplayWindow:
    """Nonces accepted by one checkpoint, each kept until its token could no longer verify."""

    _seen: dict[str, datetime] = field(default_factory=dict)

    def admit(self, *, nonce: str, expires_at: datetime, now: datetime) -> None:
        """Remember ``nonce``; refuses with ``TOKEN_REPLAYED`` if it was already admitted."""
        self._seen = {n: until for n, until in self._seen.items() if until > now}
        if nonce in self._seen:
            raise TokenRefused(
                HealthCodeErrorCode.TOKEN_REPLAYED, "token already used", field="token"
            )
        self._seen[nonce] = expires_at

    def __len__(self) -> int:
        return len(self._seen)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _malformed(detail: str) -> TokenRefused:
    return TokenRefused(
        HealthCodeErrorCode.TOKEN_MALFORMED, f"token malformed: {detail}", field="token"
    )


def _parse(token: str) -> tuple[CodeToken, str, bytes]:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise _malformed(f"expected {PREFIX}.<payload>.<signature>")
    try:
        payload = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
        nonce = _unb64(str(payload["n"])) if isinstance(payload, dict) else b""
    except (binascii.Error, ValueError, KeyError, UnicodeDecodeError):
        raise _malformed("not base64url JSON") from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != FORMAT_VERSION
        or not all(isinstance(payload.get(k), str) and payload[k] for k in ("k", "p", "c"))
        or not isinstance(payload.get("iat"), int)
        or isinstance(payload.get("iat"), bool)
        or len(nonce) != NONCE_BYTES
    ):
        raise _malformed("missing or invalid fields")
    try:
        issued_at = datetime.fromtimestamp(payload["iat"], tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _malformed("issued-at out of range") from None
    claims = CodeToken(
        key_id=payload["k"],
        person_ref=payload["p"],
        colour=payload["c"],
        issued_at=issued_at,
        nonce=str(payload["n"]),
    )
    return claims, f"{parts[0]}.{parts[1]}", signature
