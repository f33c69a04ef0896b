"""Registration codes (信息码): compact signed tokens a QR label can carry, verified offline.

A resident (or a grid worker for them) gets the code before the test round; the sampling page
scans it and binds the person to the tube without typing an ID number. The page holds only the
public keys, so it verifies codes with no network. Shanghai's 核酸码 set the practice: an offline
screenshot reusable for 30 days, and proxy codes that let one adult present relatives
(protocols.md §4.6).

Binary layout (version 1), then Ed25519 signature over ``DOMAIN_TAG + body``:

====== ======= ===================================================================
bytes  field   meaning
====== ======= ===================================================================
1      version ``1``
1      kind    ``0`` person code, ``1`` household code
1      key id  which signing key (so keys can be rotated; the page keeps several)
4      issued  Unix seconds, unsigned big-endian (good until 2106)
1      days    validity in days (1-255; 30 by default)
varint person  the person (for a household code: the adult presenting it)
varint house   household id + 1 (0 = none)
varint count   household codes only: number of members, then one varint per member id
64     sig     Ed25519 signature
====== ======= ===================================================================

The text form is ``FK`` followed by unpadded RFC 4648 base32, whose alphabet (A-Z, 2-7) fits
the QR alphanumeric mode (5.5 bits a character instead of 8 in byte mode).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fangkong.core.signatures import ed25519_valid
from fangkong.testing.enums import CodeKind
from fangkong.testing.errors import TestingError, TestingErrorCode

PREFIX = "FK"
VERSION = 1
DOMAIN_TAG = b"fangkong/registration-code/v1"  # a signature here is never valid elsewhere
DEFAULT_VALIDITY = timedelta(days=30)
# Phones at a sampling site may run a few minutes fast or slow.
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
MAX_MEMBERS = 16
SIGNATURE_BYTES = 64
_HEADER = struct.Struct(">BBBIB")
_KINDS = {CodeKind.PERSON: 0, CodeKind.HOUSEHOLD: 1}


@dataclass(frozen=True, slots=True)
class RegistrationCode:
    """A verified code. ``member_ids`` is empty for a person code."""

    kind: CodeKind
    key_id: int
    person_id: int
    household_id: int | None
    member_ids: tuple[int, ...]
    issued_at: datetime
    expires_at: datetime

    def covered_people(self) -> tuple[int, ...]:
        """The people this code lets the sampler bind to a tube."""
        return self.member_ids if self.kind is CodeKind.HOUSEHOLD else (self.person_id,)

    def select_members(self, chosen: Sequence[int]) -> tuple[int, ...]:
        """The subset of covered people being sampled now; refuses anyone not covered."""
        covered = set(self.covered_people())
        outside = [person for person in chosen if person not in covered]
        if outside:
            raise TestingError(
                TestingErrorCode.CODE_MEMBER_NOT_COVERED,
                f"people {outside} are not covered by this code",
                field="member_ids",
            )
        return tuple(dict.fromkeys(chosen))


def _refuse(code: TestingErrorCode, message: str) -> TestingError:
    return TestingError(code, message, field="code")


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("ids in a registration code are non-negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 63, 7):
        if position >= len(data):
            raise _refuse(TestingErrorCode.CODE_MALFORMED, "the code ends inside a number")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    raise _refuse(TestingErrorCode.CODE_MALFORMED, "a number in the code is too long")


def _issue(
    *,
    private_key: Ed25519PrivateKey,
    key_id: int,
    kind: CodeKind,
    person_id: int,
    household_id: int | None,
    member_ids: Sequence[int],
    issued_at: datetime,
    validity: timedelta,
) -> str:
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    days = validity // timedelta(days=1)
    if not 1 <= days <= 255 or validity % timedelta(days=1):
        raise ValueError("validity is a whole number of days between 1 and 255")
    if not 0 <= key_id <= 255:
        raise ValueError("key ids are 0-255")
    body = bytearray(_HEADER.pack(VERSION, _KINDS[kind], key_id, int(issued_at.timestamp()), days))
    body += _varint(person_id)
    body += _varint(0 if household_id is None else household_id + 1)
    if kind is CodeKind.HOUSEHOLD:
        body += _varint(len(member_ids))
        for member in member_ids:
            body += _varint(member)
    signature = private_key.sign(DOMAIN_TAG + bytes(body))
    return PREFIX + base64.b32encode(bytes(body) + signature).decode("ascii").rstrip("=")


def issue_person_code(
    *,
    private_key: Ed25519PrivateKey,
    key_id: int,
    person_id: int,
    issued_at: datetime,
    household_id: int | None = None,
    validity: timedelta = DEFAULT_VALIDITY,
) -> str:
    """A signed code for one person, valid from ``issued_at`` for ``validity``."""
    return _issue(
        private_key=private_key,
        key_id=key_id,
        kind=CodeKind.PERSON,
        person_id=person_id,
        household_id=household_id,
        member_ids=(),
        issued_at=issued_at,
        validity=validity,
    )


def issue_household_code(
    *,
    private_key: Ed25519PrivateKey,
    key_id: int,
    presenter_id: int,
    household_id: int,
    member_ids: Sequence[int],
    issued_at: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> str:
    """A code an adult (``presenter_id``) shows for several members of one household."""
    members = tuple(dict.fromkeys(member_ids))
    if not 1 <= len(members) <= MAX_MEMBERS:
        raise ValueError(f"a household code covers 1-{MAX_MEMBERS} members")
    return _issue(
        private_key=private_key,
        key_id=key_id,
        kind=CodeKind.HOUSEHOLD,
        person_id=presenter_id,
        household_id=household_id,
        member_ids=members,
        issued_at=issued_at,
        validity=validity,
    )


# RFC 4648 base32 (A-Z, 2-7) → the digits of Python's int(..., 32) (0-9, A-V), so a code is
# decoded by one C-level conversion: base64.b32decode is pure Python and cost a fifth of a
# scan's verification on the sampling intake.
_TO_BASE32HEX = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV"
)
_BASE32_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def _b32decode(encoded: str) -> bytes | None:
    """Unpadded base32 → bytes (``None`` if it is not base32): the same bytes as
    ``base64.b32decode`` for every length an encoder can produce."""
    if not encoded or not _BASE32_CHARS.issuperset(encoded) or len(encoded) % 8 in (1, 3, 6):
        return None
    size = len(encoded) * 5 // 8
    spare = len(encoded) * 5 - size * 8  # the padding bits of the last character
    value = int(encoded.translate(_TO_BASE32HEX), 32) >> spare
    return value.to_bytes(size, "big")


def verify_code(
    token: str,
    *,
    public_keys: Mapping[int, Ed25519PublicKey],
    now: datetime,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> RegistrationCode:
    """Check a scanned code offline and return what it says.

    Refuses with ``code_malformed`` (not a code we can read), ``code_forged`` (unknown key or a
    signature that does not match), ``code_not_yet_valid`` (issued more than ``clock_skew``
    after ``now``) or ``code_expired``. The signature is checked before the dates, so a forged
    code is reported as forged whatever dates it claims.
    """
    text = token.strip().upper()
    if not text.startswith(PREFIX) or len(text) < 8:
        raise _refuse(TestingErrorCode.CODE_MALFORMED, "not a fangkong registration code")
    encoded = text[len(PREFIX) :]
    raw = _b32decode(encoded)
    if raw is None:
        raise _refuse(TestingErrorCode.CODE_MALFORMED, "the code is not base32")
    if len(raw) < _HEADER.size + 2 + SIGNATURE_BYTES:
        raise _refuse(TestingErrorCode.CODE_MALFORMED, "the code is too short")
    body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    version, kind_byte, key_id, issued, days = _HEADER.unpack_from(body)
    if version != VERSION or kind_byte not in (0, 1):
        raise _refuse(TestingErrorCode.CODE_MALFORMED, f"unknown code version {version}")
    key = public_keys.get(key_id)
    if key is None:
        raise _refuse(TestingErrorCode.CODE_FORGED, f"signing key {key_id} is not trusted")
    if not ed25519_valid(key, signature, DOMAIN_TAG + body):
        raise _refuse(TestingErrorCode.CODE_FORGED, "the signature does not match")
    kind = CodeKind.HOUSEHOLD if kind_byte == 1 else CodeKind.PERSON
    person_id, position = _read_varint(body, _HEADER.size)
    household_plus_one, position = _read_varint(body, position)
    members: list[int] = []
    if kind is CodeKind.HOUSEHOLD:
        count, position = _read_varint(body, position)
        for _ in range(count):
            member, position = _read_varint(body, position)
            members.append(member)
    if position != len(body):
        raise _refuse(TestingErrorCode.CODE_MALFORMED, "the code has trailing bytes")
    issued_at = datetime.fromtimestamp(issued, UTC)
    expires_at = issued_at + timedelta(days=days)
    if now + clock_skew < issued_at:
        raise _refuse(TestingErrorCode.CODE_NOT_YET_VALID, "the code was issued in the future")
    if now >= expires_at:
        raise _refuse(TestingErrorCode.CODE_EXPIRED, f"the code expired at {expires_at:%Y-%m-%d}")
    return RegistrationCode(
        kind=kind,
        key_id=key_id,
        person_id=person_id,
        household_id=household_plus_one - 1 if household_plus_one else None,
        member_ids=tuple(members),
        issued_at=issued_at,
        expires_at=expires_at,
    )
