"""Signed pass tokens: what the QR code on a whitelist card or freight pass carries.

A token is ``FKP1.<payload>.<signature>`` (base64url, no padding). The payload is compact JSON
``{"v": 1, "k": key id, "s": serial, "t": kind}``; the signature is Ed25519 over
``FKP1.<payload>``, made with the platform's code-signing key (``FANGKONG_CODE_SIGNING_KEY``, the
same keyring that signs health-code tokens, so checkpoints install one set of public keys).

The token deliberately carries no validity dates and no name: the checkpoint looks the serial
up at every scan, so a revocation or a shortened validity takes effect at the next check, and
a lost card reveals nothing about its holder.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fangkong.core.crypto import parse_keyring
from fangkong.core.errors import FangkongError
from fangkong.enterprise.errors import EnterpriseErrorCode

PREFIX = "FKP1"
FORMAT_VERSION = 1


class PassTokenRefused(FangkongError):
    status = 400


@dataclass(frozen=True)
class PassKeys:
    """The first key signs; every key's public half verifies (rotation)."""

    signing_key_id: str
    signing_key: Ed25519PrivateKey
    public_keys: dict[str, Ed25519PublicKey]


@dataclass(frozen=True)
class PassClaims:
    key_id: str
    serial: str
    kind: str


@lru_cache(maxsize=8)
def keys_from_spec(spec: str) -> PassKeys:
    """Parse a ``"kid:base64url(32-byte Ed25519 seed)[,...]"`` keyring."""
    ring = [(kid, Ed25519PrivateKey.from_private_bytes(seed)) for kid, seed in parse_keyring(spec)]
    return PassKeys(
        signing_key_id=ring[0][0],
        signing_key=ring[0][1],
        public_keys={kid: key.public_key() for kid, key in ring},
    )


def sign(*, keys: PassKeys, serial: str, kind: str) -> str:
    payload = {"v": FORMAT_VERSION, "k": keys.signing_key_id, "s": serial, "t": kind}
    body = f"{PREFIX}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
    return f"{body}.{_b64(keys.signing_key.sign(body.encode()))}"


def verify(*, keys: PassKeys, token: str) -> PassClaims:
    """The claims of a genuine token; refuses a malformed or forged one."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise _malformed()
    try:
        payload = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _malformed() from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != FORMAT_VERSION
        or not all(isinstance(payload.get(k), str) and payload[k] for k in ("k", "s", "t"))
    ):
        raise _malformed()
    public_key = keys.public_keys.get(payload["k"])
    try:
        if public_key is None:
            raise InvalidSignature
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise PassTokenRefused(
            EnterpriseErrorCode.PASS_TOKEN_FORGED,
            "the pass signature does not verify",
            field="token",
        ) from None
    return PassClaims(key_id=payload["k"], serial=payload["s"], kind=payload["t"])


def _malformed() -> PassTokenRefused:
    return PassTokenRefused(
        EnterpriseErrorCode.PASS_TOKEN_MALFORMED, "this is not a fangkong pass", field="token"
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
