"""Pure rules of the registry: resident identity numbers.

An 18-character resident ID (GB 11643-1999) is: 6 digits of the county-level region code in
force when the number was issued, 8 digits of birth date (YYYYMMDD), 3 digits of sequence (odd
for men, even for women) and a check character computed with ISO 7064 MOD 11-2 (``0``–``9`` or
``X`` for 10).
"""

from __future__ import annotations

from datetime import date

# ISO 7064 MOD 11-2 weights are 2^(17-i) mod 11 for positions i = 0..16.
CHECK_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARACTERS = "10X98765432"  # indexed by (weighted sum mod 11)


def resident_id_check_character(first_17: str) -> str:
    """The check character for the first 17 digits of a resident ID."""
    if len(first_17) != 17 or not first_17.isdigit():
        raise ValueError("the first 17 characters of a resident ID are digits")
    total = sum(int(digit) * weight for digit, weight in zip(first_17, CHECK_WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def resident_id_birth_date(id_number: str) -> date | None:
    """The birth date encoded in an 18-character ID, or None when it is not a real date."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def resident_id_sex(id_number: str) -> str:
    """``"M"`` when the sequence digit (17th character) is odd, ``"F"`` when even."""
    return "M" if int(id_number[16]) % 2 else "F"
