from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base


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
    path: Mapped[str] = mapped_column(AreaPath())

    __table_args__ = (Index("ix_area_path", "path"),)


class Compound(Base):
    """A residential compound (小区) inside a community."""

    __tablename__ = "compound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    area_path: Mapped[str] = mapped_column(AreaPath())
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    __table_args__ = (UniqueConstraint("community_id", "name"),)


class Building(Base):
    """A residential building (楼栋). ``area_path`` is its grid's path: buildings belong to a
    grid, so a grid worker's jurisdiction covers exactly the buildings of their grid."""

    __tablename__ = "building"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    label: Mapped[str] = mapped_column(String(40))  # e.g. "3栋"
    units: Mapped[int]  # 单元 (stairwells)
    floors: Mapped[int]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    __table_args__ = (
        Index("ix_building_area_path", "area_path"),
        UniqueConstraint("compound_id", "label"),
    )


class Household(Base):
    """A household (户) at one room of one unit of a building."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    unit: Mapped[int]
    floor: Mapped[int]
    room: Mapped[str] = mapped_column(String(16))  # e.g. "302"
    area_path: Mapped[str] = mapped_column(AreaPath())

    __table_args__ = (
        Index("ix_household_area_path", "area_path"),
        UniqueConstraint("building_id", "unit", "room"),
    )


class Workplace(Base):
    """Where people work or study: enterprises, industrial sites, schools, offices."""

    __tablename__ = "workplace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(24))
    industry: Mapped[str | None] = mapped_column(String(60))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Venue(Base):
    """Public places people visit (markets, supermarkets, clinics, stations): the places that
    carry place codes (场所码) for tracing."""

    __tablename__ = "venue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(24))
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Person(Base):
    """A resident or anyone else the response must know about.

    Identity numbers and phones are stored three ways: AES-GCM ciphertext (``*_encrypted``), a
    keyed blind index for exact lookup (``*_index``) and a masked form for lists
    (``*_masked``), so no page or export ever needs the plain value unless the viewer's role
    requires it (and that view is audited). A person may have no document at all (a child, or
    someone registered by name only): then the three identity columns are empty, and possible
    duplicates are found by name, phone and birth date instead (:class:`MergeProposal`).
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    document_type: Mapped[str | None] = mapped_column(String(32))
    id_number_encrypted: Mapped[str | None] = mapped_column(String(255))
    id_number_index: Mapped[str | None] = mapped_column(String(48), unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None]
    phone_encrypted: Mapped[str | None] = mapped_column(String(255))
    phone_index: Mapped[str | None] = mapped_column(String(48), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplace.id"), index=True)
    tags: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    address: Mapped[str | None] = mapped_column(String(200))  # for people without a household
    # How far the person has got with COVID-19 vaccination (``vaccination.enums.
    # VaccinationLevel``), derived from their dose records and rewritten by
    # ``vaccination.levels`` in the transaction that writes a dose. Kept here rather than in a
    # table of the vaccination domain because coverage divides by every active resident: a row
    # per person elsewhere would have to follow every registration, bulk load, move and merge,
    # while a column with a default of 0 cannot miss anyone.
    vaccination_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_person_area_path", "area_path"),
        Index("ix_person_name", "name"),
        # Coverage by area and age group reads only this index, in its order: the active
        # residents of a subtree by area, level, birth date (``vaccination.service``).
        Index(
            "ix_person_vaccination_coverage",
            "status",
            "area_path",
            "vaccination_level",
            "birth_date",
        ),
    )


class MergeProposal(Base):
    """A possible duplicate (same name, phone and birth date, at least one without an ID),
    waiting for a person to decide. Accepting it marks ``duplicate`` as merged into ``keep``;
    both rows stay, so the history of each is still readable."""

    __tablename__ = "merge_proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)  # the newer person's area
    match_reason: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_at: Mapped[datetime]
    reviewer_user_id: Mapped[int | None]
    reviewed_at: Mapped[datetime | None]
    kept_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("person_id", "candidate_id"),)
