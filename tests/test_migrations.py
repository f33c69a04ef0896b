from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import inspect

from fangkong.db import migrate
from fangkong.db.base import Base
from fangkong.db.models import import_all_models
from fangkong.db.session import create_db_engine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_it_upgrades_downgrades_and_upgrades_again_and_matches_the_models(
    backend: str, fresh_database_url: Callable[[str], str]
) -> None:
    url = fresh_database_url(backend)
    import_all_models()
    expected = set(Base.metadata.tables)

    migrate.upgrade(url)
    migrate.check(url)  # raises when models and migrations disagree
    engine = create_db_engine(url)
    assert set(inspect(engine).get_table_names()) - {"alembic_version"} == expected

    migrate.downgrade(url, "base")
    assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()

    migrate.upgrade(url)
    assert set(inspect(engine).get_table_names()) - {"alembic_version"} == expected
    engine.dispose()
