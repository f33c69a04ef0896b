from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import Base


class Area(Base):
    """A node of the administrative tree (province … community) or a grid cell.

    ``path`` is the materialised path of codes, ``/43/4302/430203/``: a subtree is a prefix, so
    jurisdiction scoping is one indexed ``LIKE 'prefix%'`` and needs no recursive query.
    """

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    path: Mapped[str] = mapped_column(String(255))

    # text_pattern_ops lets PostgreSQL use the index for LIKE 'prefix%' under any collation.
    __table_args__ = (Index("ix_area_path", "path", postgresql_ops={"path": "text_pattern_ops"}),)
