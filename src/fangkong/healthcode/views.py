"""Health-code API: a person's code and its explanation, tokens and their verification, the
public keys, overrides, appeals and the unexplained-code report."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, status
from fastapi.responses import PlainTextResponse

from fangkong.accounts.enums import Permission
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.healthcode import appeals, checkpoint, explain, overrides, rules, service, tokens
from fangkong.healthcode.enums import AppealDecision, OverrideStatus
from fangkong.healthcode.errors import HealthCodeError
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.models import CodeAppeal
from fangkong.healthcode.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOutcomeRead,
    AppealRead,
    CheckRead,
    CodeRead,
    ExplanationRead,
    NoteIn,
    OverrideIn,
    OverrideRead,
    TokenRead,
    UnexplainedRead,
    VerifyIn,
)
from fangkong.registry import persons
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/healthcode", tags=["healthcode"])

Viewer = Annotated[Actor, Depends(requires(Permission.HEALTHCODE_VIEW))]
Resident = Annotated[Actor, Depends(requires(Permission.SELF_SERVICE))]
Checker = Annotated[Actor, Depends(requires(Permission.HEALTHCODE_VERIFY))]
Overrider = Annotated[Actor, Depends(requires(Permission.HEALTHCODE_OVERRIDE))]
Approver = Annotated[Actor, Depends(requires(Permission.HEALTHCODE_APPROVE))]
Reviewer = Annotated[Actor, Depends(requires(Permission.HEALTHCODE_APPEAL_REVIEW))]


@lru_cache(maxsize=4)
def signing_keys(spec: str) -> tuple[tokens.SigningKey, ...]:
    return tokens.signing_keys(spec)


def current_keys() -> tuple[tokens.SigningKey, ...]:
    return signing_keys(get_settings().code_signing_key)


@lru_cache(maxsize=4)
def _public(spec: str) -> dict[str, Ed25519PublicKey]:
    return tokens.parse_public_keys(tokens.public_keys_text(signing_keys(spec)))


def public_keys() -> dict[str, Ed25519PublicKey]:
    return _public(get_settings().code_signing_key)


def issue_for(person_id: int, colour: str) -> TokenRead:
    now = clock.now()
    token = tokens.issue(
        key=current_keys()[0],
        person_ref=checkpoint.person_ref(person_id),
        colour=colour,
        now=now,
    )
    issued = now.replace(microsecond=0)
    return TokenRead(token=token, expires_at=issued + tokens.TOKEN_LIFETIME)


def appeal_read(appeal: CodeAppeal) -> AppealRead:
    read = AppealRead.model_validate(appeal)
    read.is_overdue = appeal.status == "open" and rules.is_overdue(
        due_at=appeal.due_at, decided_at=appeal.decided_at, now=clock.now()
    )
    return read


@router.get("/public-keys", response_class=PlainTextResponse)
def published_keys() -> str:
    """The public keys (``kid:base64url``) a checkpoint installs to verify tokens offline."""
    return tokens.public_keys_text(current_keys())


@router.get("/me")
def my_code(session: SessionDep, actor: Resident) -> CodeRead:
    """The resident's stored code. The common case is one primary-key read (the person id is
    on the account); only a person without a code yet has it computed and stored."""
    if actor.person_id is not None:
        stored = service.stored_code(session=session, person_id=actor.person_id)
        if stored is not None:
            return stored
    person = appeals.own_person(session=session, actor=actor)
    code = service.current_code(session=session, person_id=person.id, now=clock.now())
    session.commit()
    return CodeRead.model_validate(code)


@router.get("/me/explanation")
def my_explanation(session: SessionDep, actor: Resident, lang: str = "zh_CN") -> ExplanationRead:
    person = appeals.own_person(session=session, actor=actor)
    return _explanation(session, person.id, lang)


@router.get("/me/token")
def my_token(session: SessionDep, actor: Resident) -> TokenRead:
    """A token valid for one minute: the phone asks for a new one every minute."""
    person = appeals.own_person(session=session, actor=actor)
    code = service.current_code(session=session, person_id=person.id, now=clock.now())
    session.commit()
    return issue_for(person.id, code.colour)


@router.get("/persons/{person_id}")
def person_code(person_id: int, session: SessionDep, actor: Viewer) -> CodeRead:
    persons.get_person_or_raise(session=session, actor=actor, person_id=person_id)
    code = service.current_code(session=session, person_id=person_id, now=clock.now())
    session.commit()
    return CodeRead.model_validate(code)


@router.get("/persons/{person_id}/explanation")
def person_explanation(
    person_id: int, session: SessionDep, actor: Viewer, lang: str = "zh_CN"
) -> ExplanationRead:
    persons.get_person_or_raise(session=session, actor=actor, person_id=person_id)
    return _explanation(session, person_id, lang)


def _explanation(session: SessionDep, person_id: int, lang: str) -> ExplanationRead:
    now = clock.now()
    decision, facts = service.decide(session=session, person_id=person_id, now=now)
    told = explain.explain(decision=decision, facts=facts, now=now, locale=lang)
    return ExplanationRead(
        locale=told.locale,
        colour=told.colour,
        sentence=told.sentence,
        reasons=list(told.reasons),
        to_green=list(told.to_green),
        valid_until=told.valid_until,
    )


@router.post("/verify")
def verify(body: VerifyIn, session: SessionDep, actor: Checker) -> CheckRead:
    """两码查验: verify a scanned token; only colour, test age and vaccination come back."""
    result = checkpoint.check(
        session=session,
        actor=actor,
        token=body.token,
        now=clock.now(),
        public_keys=public_keys(),
    )
    return CheckRead.model_validate(result)


@router.get("/overrides")
def list_overrides(
    session: SessionDep, actor: Viewer, status: OverrideStatus | None = None
) -> list[OverrideRead]:
    found = overrides.list_overrides(session=session, actor=actor, status=status)
    return [OverrideRead.model_validate(o) for o in found]


@router.post("/overrides", status_code=status.HTTP_201_CREATED)
def request_override(body: OverrideIn, session: SessionDep, actor: Overrider) -> OverrideRead:
    override = overrides.request_override(
        session=session,
        actor=actor,
        request=overrides.OverrideRequest(
            body.person_id, body.colour, body.reason, body.expires_at
        ),
        now=clock.now(),
    )
    session.commit()
    return OverrideRead.model_validate(override)


@router.post("/overrides/{override_id}/approve")
def approve_override(
    override_id: int, body: NoteIn, session: SessionDep, actor: Approver
) -> OverrideRead:
    override = overrides.approve_override(
        session=session, actor=actor, override_id=override_id, now=clock.now(), note=body.note
    )
    session.commit()
    return OverrideRead.model_validate(override)


@router.post("/overrides/{override_id}/refuse")
def refuse_override(
    override_id: int, body: NoteIn, session: SessionDep, actor: Approver
) -> OverrideRead:
    override = overrides.refuse_override(
        session=session, actor=actor, override_id=override_id, now=clock.now(), note=body.note
    )
    session.commit()
    return OverrideRead.model_validate(override)


@router.post("/overrides/{override_id}/revoke")
def revoke_override(
    override_id: int, body: NoteIn, session: SessionDep, actor: Overrider
) -> OverrideRead:
    override = overrides.revoke_override(
        session=session, actor=actor, override_id=override_id, now=clock.now(), note=body.note
    )
    session.commit()
    return OverrideRead.model_validate(override)


@router.get("/unexplained")
def unexplained(session: SessionDep, actor: Viewer) -> list[UnexplainedRead]:
    found = service.unexplained_codes(session=session, actor=actor, now=clock.now())
    return [UnexplainedRead.model_validate(u) for u in found]


@router.post("/appeals", status_code=status.HTTP_201_CREATED)
def submit_appeal(body: AppealIn, session: SessionDep, actor: Resident) -> AppealRead:
    appeal = appeals.submit_appeal(session=session, actor=actor, text=body.text, now=clock.now())
    session.commit()
    return appeal_read(appeal)


@router.get("/me/appeals")
def my_appeals(session: SessionDep, actor: Resident) -> list[AppealRead]:
    person = appeals.own_person(session=session, actor=actor)
    return [appeal_read(a) for a in appeals.appeals_of(session=session, person_id=person.id)]


@router.get("/appeals")
def list_appeals(session: SessionDep, actor: Reviewer) -> list[AppealRead]:
    return [appeal_read(a) for a in appeals.list_appeals(session=session, actor=actor)]


def parse_decision(value: str) -> AppealDecision:
    try:
        return AppealDecision(value)
    except ValueError:
        raise HealthCodeError(
            Code.APPEAL_DECISION_UNKNOWN, "decide accept or reject", field="decision"
        ) from None


@router.post("/appeals/{appeal_id}/decide")
def decide_appeal(
    appeal_id: int, body: AppealDecisionIn, session: SessionDep, actor: Reviewer
) -> AppealOutcomeRead:
    decision = parse_decision(body.decision)
    outcome = appeals.decide_appeal(
        session=session,
        actor=actor,
        appeal_id=appeal_id,
        decision=decision,
        reason=body.reason,
        now=clock.now(),
        override=_override_of(appeal_id, session, body),
    )
    session.commit()
    return AppealOutcomeRead(
        appeal=appeal_read(outcome.appeal),
        override=OverrideRead.model_validate(outcome.override) if outcome.override else None,
    )


def _override_of(
    appeal_id: int, session: SessionDep, body: AppealDecisionIn
) -> overrides.OverrideRequest | None:
    if body.override_colour is None:
        return None
    appeal = session.get(CodeAppeal, appeal_id)
    if appeal is None:
        return None  # decide_appeal refuses it with its own code
    return overrides.OverrideRequest(
        appeal.person_id, body.override_colour, body.reason, body.override_expires_at
    )
