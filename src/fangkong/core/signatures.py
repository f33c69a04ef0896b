"""Ed25519 signature checks on hot paths, with libsodium.

Keys are held as ``cryptography`` objects everywhere (loading, signing, rotation). Verifying
through libsodium (PyNaCl) costs about half of OpenSSL's time on this platform's servers
(44 µs against 92 µs, bench/RESULTS.md "Sampling scans over HTTP"), which matters where every
request carries a signature: the sampling scan intake verifies one registration code a scan.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

# id(key) → (key, raw bytes); the key is kept so its id cannot be reused by another object.
_RAW: dict[int, tuple[Ed25519PublicKey, bytes]] = {}


def _raw(key: Ed25519PublicKey) -> bytes:
    found = _RAW.get(id(key))
    if found is None:
        found = (key, key.public_bytes_raw())
        _RAW[id(key)] = found
    return found[1]


def ed25519_valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``message``."""
    if len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, _raw(key))
    except BadSignatureError:
        return False
    return True
