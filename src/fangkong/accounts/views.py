"""Accounts API: who am I, create users, issue API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fangkong.accounts import service
from fangkong.accounts.enums import Permission
from fangkong.accounts.schemas import MeRead, TokenCreate, TokenIssued, UserCreate, UserRead
from fangkong.core.scope import Actor
from fangkong.web.deps import ActorDep, SessionDep, requires

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/me")
def me(session: SessionDep, actor: ActorDep) -> MeRead:
    user = service.get_or_raise(session=session, user_id=actor.user_id)
    return MeRead(
        **UserRead.model_validate(user).model_dump(), permissions=sorted(actor.permissions)
    )


@router.post("/users", status_code=201)
def create_user(
    user_in: UserCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(requires(Permission.ACCOUNTS_MANAGE))],
) -> UserRead:
    user = service.create_user(session=session, actor=actor, **user_in.model_dump())
    session.commit()
    return UserRead.model_validate(user)


@router.post("/tokens", status_code=201)
def issue_token(token_in: TokenCreate, session: SessionDep, actor: ActorDep) -> TokenIssued:
    user = service.get_or_raise(session=session, user_id=actor.user_id)
    token = service.issue_api_token(
        session=session, actor=actor, user=user, name=token_in.name, expires_at=token_in.expires_at
    )
    session.commit()
    return TokenIssued(token=token, name=token_in.name)
