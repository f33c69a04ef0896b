"""The fast lane's actor cache: a hit costs no query; a revoked token is refused once the
cached answer is older than the TTL; refusals are never cached."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.models import ApiToken
from fangkong.accounts.token_cache import ActorCache
from fangkong.core import clock
from fangkong.core.errors import AuthenticationFailed, CoreErrorCode
from fangkong.core.ids import token_digest
from fangkong.db.session import create_db_engine
from tests.apart import run_apart
from tests.personas import PASSWORD


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(url: str) -> tuple[int, str]:
    engine = create_db_engine(url)
    with Session(engine) as session:
        user = accounts_service.create_user(
            session=session,
            actor=None,
            username=f"cache-{uuid.uuid4().hex[:8]}",
            password=PASSWORD,
            role=Role.SAMPLER,
            display_name="cache sampler",
            area_code="430203003",
        )
        token = accounts_service.issue_api_token(
            session=session, actor=None, user=user, name="cache", expires_at=None
        )
        user_id = user.id
        session.commit()
    engine.dispose()
    return user_id, token


def test_a_cached_token_costs_no_lookup_until_the_ttl_passes(committed_database_url: str) -> None:
    user_id, token = _token(committed_database_url)
    engine = create_db_engine(committed_database_url)
    tick = FakeMonotonic()
    cache = ActorCache(sessionmaker(bind=engine), ttl=5.0, monotonic=tick)

    async def run() -> list[int]:
        seen = [(await cache.for_token(token)).user_id]
        tick.now += 4.9
        seen.append((await cache.for_token(token)).user_id)
        return seen

    assert run_apart(run()) == [user_id, user_id]
    assert cache.lookups == 1
    tick.now += 0.2
    assert run_apart(cache.for_token(token)).user_id == user_id
    assert cache.lookups == 2
    engine.dispose()


def test_a_revoked_token_is_refused_once_the_ttl_passed(committed_database_url: str) -> None:
    _, token = _token(committed_database_url)
    engine = create_db_engine(committed_database_url)
    tick = FakeMonotonic()
    cache = ActorCache(sessionmaker(bind=engine), ttl=5.0, monotonic=tick)
    run_apart(cache.for_token(token))
    with Session(engine) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_digest == token_digest(token))
            .values(revoked_at=clock.now())
        )
        session.commit()
    # Within the TTL the cached answer stands (the documented revocation lag) …
    tick.now += 3
    run_apart(cache.for_token(token))
    # … after it the database is asked again, and refuses.
    tick.now += 3
    with pytest.raises(AuthenticationFailed) as refused:
        run_apart(cache.for_token(token))
    assert refused.value.code == CoreErrorCode.AUTH_TOKEN_INVALID
    engine.dispose()


def test_a_wrong_token_is_refused_every_time_and_never_cached(
    committed_database_url: str,
) -> None:
    engine = create_db_engine(committed_database_url)
    cache = ActorCache(sessionmaker(bind=engine), ttl=5.0)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed) as refused:
            run_apart(cache.for_token("not-a-token"))
        assert refused.value.code == CoreErrorCode.AUTH_TOKEN_INVALID
    assert cache.lookups == 2
    engine.dispose()


def test_concurrent_misses_for_one_token_share_one_lookup(committed_database_url: str) -> None:
    user_id, token = _token(committed_database_url)
    engine = create_db_engine(committed_database_url)
    cache = ActorCache(sessionmaker(bind=engine), ttl=5.0)

    async def run() -> list[int]:
        actors = await asyncio.gather(*(cache.for_token(token) for _ in range(20)))
        return [actor.user_id for actor in actors]

    assert run_apart(run()) == [user_id] * 20
    assert cache.lookups == 1
    engine.dispose()
