"""Storage: declarative base, engine and session factory, Alembic migrations."""

from fangkong.db.base import Base, UTCDateTime
from fangkong.db.session import create_db_engine, get_engine, get_sessionmaker, session_scope

__all__ = [
    "Base",
    "UTCDateTime",
    "create_db_engine",
    "get_engine",
    "get_sessionmaker",
    "session_scope",
]
