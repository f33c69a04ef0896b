"""Showing and checking a code: the token a phone shows, and what a checkpoint may see.

A resident's page asks for a fresh token every minute; the person reference inside is ``p<id>``
(the registry row id, never an ID number). A checkpoint verifies the signature, the age and
the replay window, then sees only the colour, the age of the latest negative test and the
vaccination status (两码查验) — nothing else about the person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from threading import Lock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor
from fangkong.healthcode import providers, tokens
from fangkong.healthcode.errors import HealthCodeErrorCode

PERSON_REF_PREFIX = "p"


def person_ref(person_id: int) -> str:
    return f"{PERSON_REF_PREFIX}{person_id}"


def person_of(ref: str) -> int | None:
    tail = ref.removeprefix(PERSON_REF_PREFIX)
    return int(tail) if ref.startswith(PERSON_REF_PREFIX) and tail.isdigit() else None


@dataclass(frozen=True)
class CheckResult:
    colour: str
    issued_at: datetime
    latest_negative_at: datetime | None
    negative_age_hours: int | None
    doses: int
    last_dose_on: date | None


class ReplayWindows:
    """One replay window per checkpoint account, in this process (a city-wide guard would keep
    the same on a shared store)."""

    def __init__(self) -> None:
        self._windows: dict[int, tokens.ReplayWindow] = {}
        self._lock = Lock()

    def for_user(self, user_id: int) -> tokens.ReplayWindow:
        with self._lock:
            return self._windows.setdefault(user_id, tokens.ReplayWindow())


REPLAY_WINDOWS = ReplayWindows()


def check(
    *,
    session: Session,
    actor: Actor,
    token: str,
    now: datetime,
    public_keys: Mapping[str, Ed25519PublicKey],
    replay_window: tokens.ReplayWindow | None = None,
) -> CheckResult:
    """Verify ``token`` (refusals: ``tokens.TokenRefused``) and return what a gate may see."""
    actor.require(Permission.HEALTHCODE_VERIFY)
    window = replay_window or REPLAY_WINDOWS.for_user(actor.user_id)
    claims = tokens.verify(
        token=token.strip(), public_keys=public_keys, now=now, replay_window=window
    )
    person_id = person_of(claims.person_ref)
    if person_id is None:
        raise tokens.TokenRefused(
            HealthCodeErrorCode.TOKEN_MALFORMED, "unknown person reference", field="token"
        )
    negative = providers.latest_negative_at(session=session, person_id=person_id)
    vaccination = providers.vaccination_of(session=session, person_ids=[person_id])[person_id]
    return CheckResult(
        colour=claims.colour,
        issued_at=claims.issued_at,
        latest_negative_at=negative,
        negative_age_hours=int((now - negative).total_seconds() // 3600) if negative else None,
        doses=vaccination.doses,
        last_dose_on=vaccination.last_dose_on,
    )
