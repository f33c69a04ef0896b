"""How identity numbers and phones are stored: ciphertext, blind index and masked form.

Both the one-at-a-time service path and the bulk loader go through these functions, so a person
loaded in bulk is found by exactly the same lookup as one registered by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.core.crypto import FieldCipher, mask_middle

ID_CONTEXT = "person.id_number"
PHONE_CONTEXT = "person.phone"


@dataclass(frozen=True)
class Protected:
    encrypted: str
    index: str
    masked: str


def normalise_id_number(value: str) -> str:
    """Upper-case, no spaces: ``x`` and ``X`` are the same check character."""
    return "".join(value.split()).upper()


def normalise_phone(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    # Strip the country code so "+86 138…" and "138…" are one number.
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def mask_id_number(value: str) -> str:
    """Keep the region (6) and the last 4 characters: enough to tell people apart on a list."""
    return mask_middle(value, keep_start=6, keep_end=4)


def mask_phone(value: str) -> str:
    return mask_middle(value, keep_start=3, keep_end=4)


def protect_id_number(cipher: FieldCipher, value: str) -> Protected:
    value = normalise_id_number(value)
    return Protected(
        encrypted=cipher.encrypt(value, context=ID_CONTEXT),
        index=cipher.blind_index(value, context=ID_CONTEXT),
        masked=mask_id_number(value),
    )


def protect_phone(cipher: FieldCipher, value: str) -> Protected:
    value = normalise_phone(value)
    return Protected(
        encrypted=cipher.encrypt(value, context=PHONE_CONTEXT),
        index=cipher.blind_index(value, context=PHONE_CONTEXT),
        masked=mask_phone(value),
    )


def id_number_lookup_keys(cipher: FieldCipher, value: str) -> list[str]:
    """Every blind index under which ``value`` may be stored (one per configured index key)."""
    return cipher.blind_index_candidates(normalise_id_number(value), context=ID_CONTEXT)


def phone_lookup_keys(cipher: FieldCipher, value: str) -> list[str]:
    return cipher.blind_index_candidates(normalise_phone(value), context=PHONE_CONTEXT)
