from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fangkong.testing.codes import (
    PREFIX,
    issue_household_code,
    issue_person_code,
    verify_code,
)
from fangkong.testing.enums import CodeKind
from fangkong.testing.errors import TestingError, TestingErrorCode

ISSUED = datetime(2022, 11, 10, 8, 0, tzinfo=UTC)
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
TRUSTED = {7: SIGNING_KEY.public_key()}


def person_code(**changes: object) -> str:
    arguments: dict[str, object] = {
        "private_key": SIGNING_KEY,
        "key_id": 7,
        "person_id": 3_912_345,
        "household_id": 1_234_567,
        "issued_at": ISSUED,
        **changes,
    }
    return issue_person_code(**arguments)  # type: ignore[arg-type]


def decode(token: str) -> bytearray:
    body = token[len(PREFIX) :]
    return bytearray(base64.b32decode(body + "=" * (-len(body) % 8)))


def refusal(token: str, now: datetime = ISSUED) -> TestingErrorCode:
    with pytest.raises(TestingError) as refused:
        verify_code(token, public_keys=TRUSTED, now=now)
    return refused.value.code  # type: ignore[return-value]


def test_it_verifies_a_person_code_offline_with_the_public_key() -> None:
    code = verify_code(person_code(), public_keys=TRUSTED, now=ISSUED + timedelta(days=29))

    assert code.kind is CodeKind.PERSON
    assert (code.person_id, code.household_id, code.key_id) == (3_912_345, 1_234_567, 7)
    assert code.issued_at == ISSUED
    assert code.expires_at == ISSUED + timedelta(days=30)
    assert code.covered_people() == (3_912_345,)


def test_it_keeps_a_person_code_small_enough_for_a_label_qr() -> None:
    token = person_code()

    # 79 bytes (15 of data, 64 of signature) as 127 base32 characters plus the prefix: QR
    # version 6 at error-correction level M holds 154 alphanumeric characters.
    assert len(token) == 129
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert len(person_code(household_id=None)) == 126


def test_it_lets_one_adult_present_a_household() -> None:
    token = issue_household_code(
        private_key=SIGNING_KEY,
        key_id=7,
        presenter_id=100,
        household_id=55,
        member_ids=[100, 101, 102, 101],
        issued_at=ISSUED,
    )

    code = verify_code(token, public_keys=TRUSTED, now=ISSUED)

    assert code.kind is CodeKind.HOUSEHOLD
    assert (code.person_id, code.household_id) == (100, 55)
    assert code.covered_people() == (100, 101, 102)
    assert code.select_members([102, 101]) == (102, 101)
    with pytest.raises(TestingError) as refused:
        code.select_members([101, 999])
    assert refused.value.code is TestingErrorCode.CODE_MEMBER_NOT_COVERED


def test_it_refuses_an_expired_code() -> None:
    assert refusal(person_code(), ISSUED + timedelta(days=30)) is TestingErrorCode.CODE_EXPIRED


def test_it_refuses_a_code_issued_in_the_future_beyond_clock_skew() -> None:
    token = person_code(issued_at=ISSUED + timedelta(hours=1))

    assert refusal(token) is TestingErrorCode.CODE_NOT_YET_VALID
    assert verify_code(token, public_keys=TRUSTED, now=ISSUED + timedelta(minutes=56)).person_id


def test_it_refuses_a_code_signed_with_an_untrusted_key() -> None:
    assert refusal(person_code(private_key=OTHER_KEY)) is TestingErrorCode.CODE_FORGED
    assert refusal(person_code(key_id=8)) is TestingErrorCode.CODE_FORGED


def test_it_refuses_a_code_whose_person_was_changed() -> None:
    raw = decode(person_code())
    raw[8] ^= 0x01  # the first byte of the person id

    forged = PREFIX + base64.b32encode(bytes(raw)).decode().rstrip("=")

    assert refusal(forged) is TestingErrorCode.CODE_FORGED


def test_it_refuses_a_code_whose_expiry_was_stretched() -> None:
    raw = decode(person_code())
    raw[7] = 255  # validity days

    forged = PREFIX + base64.b32encode(bytes(raw)).decode().rstrip("=")

    assert refusal(forged, ISSUED + timedelta(days=40)) is TestingErrorCode.CODE_FORGED


@pytest.mark.parametrize(
    "token",
    ["", "hello", "FK!!!!!!!!!!", "FK" + "A" * 20, "XX" + "A" * 130, "FK" + "7" * 127],
)
def test_it_refuses_malformed_codes(token: str) -> None:
    assert refusal(token) is TestingErrorCode.CODE_MALFORMED


def test_it_accepts_a_lowercased_scan() -> None:
    assert (
        verify_code(person_code().lower(), public_keys=TRUSTED, now=ISSUED).person_id == 3_912_345
    )
