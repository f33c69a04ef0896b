from __future__ import annotations

import pytest

from fangkong.core.crypto import FieldCipher, generate_key, mask_middle, parse_keyring
from fangkong.core.errors import CoreErrorCode, FangkongError

OLD = generate_key("k1")
NEW = generate_key("k2")
INDEX_OLD = generate_key("i1")
INDEX_NEW = generate_key("i2")


def test_it_round_trips_a_value_and_never_stores_the_plain_text() -> None:
    cipher = FieldCipher.from_specs(OLD, INDEX_OLD)
    token = cipher.encrypt("430203199001011234", context="person.id_number")
    assert token.startswith("k1:")
    assert "430203199001011234" not in token
    assert cipher.decrypt(token, context="person.id_number") == "430203199001011234"


def test_it_gives_two_encryptions_of_one_value_different_ciphertexts() -> None:
    cipher = FieldCipher.from_specs(OLD, INDEX_OLD)
    first = cipher.encrypt("13800138000", context="person.phone")
    second = cipher.encrypt("13800138000", context="person.phone")
    assert first != second


def test_it_refuses_a_ciphertext_moved_to_another_column() -> None:
    cipher = FieldCipher.from_specs(OLD, INDEX_OLD)
    token = cipher.encrypt("13800138000", context="person.phone")
    with pytest.raises(FangkongError) as caught:
        cipher.decrypt(token, context="person.id_number")
    assert caught.value.code is CoreErrorCode.CRYPTO_TAMPERED


def test_it_refuses_an_edited_ciphertext() -> None:
    cipher = FieldCipher.from_specs(OLD, INDEX_OLD)
    token = cipher.encrypt("13800138000", context="person.phone")
    key_id, _, body = token.partition(":")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(FangkongError) as caught:
        cipher.decrypt(f"{key_id}:{flipped}", context="person.phone")
    assert caught.value.code is CoreErrorCode.CRYPTO_TAMPERED


def test_it_decrypts_old_values_after_a_key_rotation_and_encrypts_with_the_new_key() -> None:
    before = FieldCipher.from_specs(OLD, INDEX_OLD)
    token = before.encrypt("13800138000", context="person.phone")
    after = FieldCipher.from_specs(f"{NEW},{OLD}", f"{INDEX_NEW},{INDEX_OLD}")
    assert after.decrypt(token, context="person.phone") == "13800138000"
    assert after.needs_reencryption(token) is True
    assert after.encrypt("x", context="c").startswith("k2:")


def test_it_names_an_unknown_key_id() -> None:
    cipher = FieldCipher.from_specs(NEW, INDEX_NEW)
    token = FieldCipher.from_specs(OLD, INDEX_OLD).encrypt("x", context="c")
    with pytest.raises(FangkongError) as caught:
        cipher.decrypt(token, context="c")
    assert caught.value.code is CoreErrorCode.CRYPTO_UNKNOWN_KEY


def test_it_finds_a_value_indexed_before_a_rotation() -> None:
    before = FieldCipher.from_specs(OLD, INDEX_OLD)
    stored = before.blind_index("430203199001011234", context="person.id_number")
    after = FieldCipher.from_specs(OLD, f"{INDEX_NEW},{INDEX_OLD}")
    candidates = after.blind_index_candidates("430203199001011234", context="person.id_number")
    assert stored in candidates
    assert candidates[0].startswith("i2:") and len(candidates) == 2


def test_it_keys_the_blind_index_so_it_cannot_be_recomputed_without_the_key() -> None:
    one = FieldCipher.from_specs(OLD, INDEX_OLD).blind_index("1", context="c")
    other = FieldCipher.from_specs(OLD, INDEX_NEW.replace("i2", "i1")).blind_index("1", context="c")
    assert one != other
    assert len(one.partition(":")[2]) == 32


@pytest.mark.parametrize(
    ("_case", "spec", "message"),
    [
        ("no separator", "abc", "is not 'key_id:base64'"),
        ("short key", "k1:AAAA", "must be 32 bytes"),
        ("empty", " , ", "at least one key"),
    ],
)
def test_it_refuses_a_malformed_keyring(_case: str, spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_keyring(spec)


@pytest.mark.parametrize(
    ("_case", "value", "start", "end", "masked"),
    [
        ("resident id", "430203199001011234", 6, 4, "430203********1234"),
        ("phone", "13800138000", 3, 4, "138****8000"),
        ("too short to show anything", "1234", 3, 4, "****"),
    ],
)
def test_it_masks_the_middle(_case: str, value: str, start: int, end: int, masked: str) -> None:
    assert mask_middle(value, keep_start=start, keep_end=end) == masked
