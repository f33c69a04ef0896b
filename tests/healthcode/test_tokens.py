"""Signed rotating code tokens: issued online, verified offline with the public key only."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from fangkong.config import DEFAULT_CODE_SIGNING_KEY, Settings
from fangkong.healthcode.errors import HealthCodeErrorCode
from fangkong.healthcode.tokens import (
    CLOCK_SKEW,
    TOKEN_LIFETIME,
    ReplayWindow,
    TokenRefused,
    issue,
    parse_public_keys,
    public_keys_text,
    signing_keys,
    verify,
)

ISSUED = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)
KEY_SPEC = "k1:" + base64.urlsafe_b64encode(bytes(range(32))).decode()
OTHER_SPEC = "k1:" + base64.urlsafe_b64encode(bytes(range(1, 33))).decode()
KEYS = signing_keys(KEY_SPEC)
PUBLIC = parse_public_keys(public_keys_text(KEYS))


def token(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "key": KEYS[0],
        "person_ref": "p-7f3a",
        "colour": "green",
        "now": ISSUED,
    }
    arguments.update(overrides)
    return issue(**arguments)  # type: ignore[arg-type]


def refusal(text: str, now: datetime = ISSUED, window: ReplayWindow | None = None) -> str:
    with pytest.raises(TokenRefused) as refused:
        verify(token=text, public_keys=PUBLIC, now=now, replay_window=window)
    assert refused.value.field == "token"
    return str(refused.value.code)


def test_it_verifies_a_fresh_token_offline_with_the_public_key() -> None:
    claims = verify(token=token(), public_keys=PUBLIC, now=ISSUED + timedelta(seconds=30))

    assert (claims.person_ref, claims.colour, claims.key_id) == ("p-7f3a", "green", "k1")
    assert claims.issued_at == ISSUED
    assert claims.expires_at == ISSUED + TOKEN_LIFETIME


def _tamper_colour(text: str) -> str:
    prefix, payload, signature = text.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["c"] = "green" if claims["c"] != "green" else "red"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("_case", "text", "now", "code"),
    [
        (
            "colour changed after signing",
            _tamper_colour(token(colour="red")),
            ISSUED,
            HealthCodeErrorCode.TOKEN_FORGED,
        ),
        (
            "signed by another key with the same id",
            issue(key=signing_keys(OTHER_SPEC)[0], person_ref="p", colour="green", now=ISSUED),
            ISSUED,
            HealthCodeErrorCode.TOKEN_FORGED,
        ),
        (
            "unknown key id",
            issue(
                key=signing_keys("k9" + OTHER_SPEC[2:])[0],
                person_ref="p",
                colour="green",
                now=ISSUED,
            ),
            ISSUED,
            HealthCodeErrorCode.TOKEN_UNKNOWN_KEY,
        ),
        (
            "one minute old",
            token(),
            ISSUED + TOKEN_LIFETIME + CLOCK_SKEW,
            HealthCodeErrorCode.TOKEN_EXPIRED,
        ),
        (
            "issued in the future",
            token(),
            ISSUED - CLOCK_SKEW - timedelta(seconds=1),
            HealthCodeErrorCode.TOKEN_NOT_YET_VALID,
        ),
        ("not a token", "hello", ISSUED, HealthCodeErrorCode.TOKEN_MALFORMED),
        ("wrong prefix", "FK2" + token()[3:], ISSUED, HealthCodeErrorCode.TOKEN_MALFORMED),
        ("payload not json", "FK1.bm90IGpzb24.c2ln", ISSUED, HealthCodeErrorCode.TOKEN_MALFORMED),
        (
            "payload missing fields",
            "FK1." + base64.urlsafe_b64encode(b'{"v":1}').decode() + ".c2ln",
            ISSUED,
            HealthCodeErrorCode.TOKEN_MALFORMED,
        ),
        ("short nonce", token(nonce=b"abc"), ISSUED, HealthCodeErrorCode.TOKEN_MALFORMED),
    ],
)
def test_it_refuses_a_bad_token_with_a_specific_code(
    _case: str, text: str, now: datetime, code: HealthCodeErrorCode
) -> None:
    assert refusal(text, now) == code


def test_it_accepts_a_token_until_its_minute_and_the_skew_are_over() -> None:
    last_moment = ISSUED + TOKEN_LIFETIME + CLOCK_SKEW - timedelta(microseconds=1)

    assert verify(token=token(), public_keys=PUBLIC, now=last_moment).colour == "green"


def test_it_refuses_a_replayed_token_at_the_same_checkpoint() -> None:
    window = ReplayWindow()
    shown = token()
    verify(token=shown, public_keys=PUBLIC, now=ISSUED, replay_window=window)

    assert (
        refusal(shown, ISSUED + timedelta(seconds=10), window) == HealthCodeErrorCode.TOKEN_REPLAYED
    )
    assert (
        verify(token=token(), public_keys=PUBLIC, now=ISSUED, replay_window=window).colour
        == "green"
    )


def test_it_forgets_nonces_once_their_tokens_have_expired() -> None:
    window = ReplayWindow()
    verify(token=token(), public_keys=PUBLIC, now=ISSUED, replay_window=window)
    later = ISSUED + timedelta(minutes=5)

    verify(token=token(now=later), public_keys=PUBLIC, now=later, replay_window=window)

    assert len(window) == 1


def test_it_does_not_remember_forged_tokens() -> None:
    window = ReplayWindow()

    refusal(_tamper_colour(token()), ISSUED, window)

    assert len(window) == 0


def test_it_verifies_with_every_key_of_a_rotated_ring() -> None:
    rotated = signing_keys(f"k2:{OTHER_SPEC[3:]},{KEY_SPEC}")
    public = parse_public_keys(public_keys_text(rotated))

    old = verify(token=token(), public_keys=public, now=ISSUED)
    new = verify(token=token(key=rotated[0]), public_keys=public, now=ISSUED)

    assert (old.key_id, new.key_id) == ("k1", "k2")


def test_it_refuses_the_default_code_signing_key_in_production() -> None:
    with pytest.raises(ValidationError, match="FANGKONG_CODE_SIGNING_KEY must be set"):
        Settings(
            environment="production",
            secret_key="s" * 40,
            encryption_keys=KEY_SPEC,
            blind_index_keys=KEY_SPEC,
            secure_cookies=True,
            code_signing_key=f"{KEY_SPEC},{DEFAULT_CODE_SIGNING_KEY}",
        )


def test_it_accepts_a_production_code_signing_key() -> None:
    settings = Settings(
        environment="production",
        secret_key="s" * 40,
        encryption_keys=KEY_SPEC,
        blind_index_keys=KEY_SPEC,
        secure_cookies=True,
        code_signing_key=KEY_SPEC,
    )

    assert signing_keys(settings.code_signing_key)[0].key_id == "k1"


def test_it_refuses_a_malformed_code_signing_key_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(code_signing_key="k1:c2VjcmV0LXRvby1zaG9ydA")

    assert "FANGKONG_CODE_SIGNING_KEY must be" in str(refused.value)
    assert "c2VjcmV0LXRvby1zaG9ydA" not in str(refused.value)
