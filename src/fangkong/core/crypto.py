"""Field encryption (AES-256-GCM) and keyed blind indexes (HMAC-SHA256) with key ids.

Resident ID numbers and phone numbers are stored encrypted. An encrypted value is
``"<key id>:<base64url(nonce || ciphertext)>"``, so keys can be rotated: the first configured key
encrypts, every configured key decrypts. Exact lookup of an encrypted value goes through its
blind index ``"<key id>:<hex HMAC>"``; on lookup the index is computed under every configured
index key, so rows written before a rotation are still found until they are re-indexed.
"""

from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fangkong.core.errors import CoreErrorCode, FangkongError

NONCE_BYTES = 12
BLIND_INDEX_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are negligible at city scale


def parse_keyring(spec: str) -> list[tuple[str, bytes]]:
    """Parse ``"kid:base64url,kid2:base64url"`` into ``[(kid, 32-byte key), ...]``."""
    keys: list[tuple[str, bytes]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        if not key_id or not encoded:
            raise ValueError(f"key entry {item[:8]!r}… is not 'key_id:base64'")
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if len(raw) != 32:
            raise ValueError(f"key {key_id!r} must be 32 bytes, got {len(raw)}")
        keys.append((key_id, raw))
    if not keys:
        raise ValueError("at least one key is required")
    return keys


@dataclass(frozen=True)
class FieldCipher:
    encryption_keys: tuple[tuple[str, bytes], ...]
    index_keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_specs(cls, encryption_keys: str, index_keys: str) -> FieldCipher:
        return cls(tuple(parse_keyring(encryption_keys)), tuple(parse_keyring(index_keys)))

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext``; ``context`` (e.g. ``"person.id_number"``) is bound as associated
        data, so a ciphertext copied into another column does not decrypt."""
        key_id, key = self.encryption_keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        key_id, _, encoded = token.partition(":")
        key = dict(self.encryption_keys).get(key_id)
        if key is None:
            raise FangkongError(CoreErrorCode.CRYPTO_UNKNOWN_KEY, f"no key {key_id!r} configured")
        blob = base64.urlsafe_b64decode(encoded)
        try:
            plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise FangkongError(
                CoreErrorCode.CRYPTO_TAMPERED, "ciphertext failed its check"
            ) from exc
        return plain.decode()

    def blind_index(self, value: str, *, context: str) -> str:
        """The index under the current key (what is stored)."""
        key_id, key = self.index_keys[0]
        return f"{key_id}:{_hmac_hex(key, context, value)}"

    def blind_index_candidates(self, value: str, *, context: str) -> list[str]:
        """The index under every configured key (what a lookup searches for)."""
        return [f"{kid}:{_hmac_hex(key, context, value)}" for kid, key in self.index_keys]

    def needs_reencryption(self, token: str) -> bool:
        return token.partition(":")[0] != self.encryption_keys[0][0]


def _hmac_hex(key: bytes, context: str, value: str) -> str:
    digest = hmac.new(key, f"{context}\x00{value}".encode(), sha256).hexdigest()
    return digest[:BLIND_INDEX_HEX_CHARS]


def generate_key(key_id: str) -> str:
    """A fresh ``kid:base64url`` key entry (``fangkong keys generate``)."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


@lru_cache
def get_cipher() -> FieldCipher:
    from fangkong.config import get_settings

    settings = get_settings()
    return FieldCipher.from_specs(settings.encryption_keys, settings.blind_index_keys)


def mask_middle(value: str, *, keep_start: int, keep_end: int) -> str:
    """``430203199001011234`` → ``430203********1234`` (for pages and exports)."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + (value[-keep_end:] if keep_end else "")
