"""Place scans, cases, investigations with their trajectories, and contacts with their evidence."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base, BigIntId


class PlaceScan(Base):
    """A person was at a venue at ``scanned_at`` (UTC, whole seconds).

    ``person_id`` and ``venue_id`` name registry rows but carry no foreign keys: this is the
    highest-volume table of the platform (a 4-million city writes ~7 million rows a day), every
    record is checked against the registry when it is received (:func:`service.record_scans`),
    and scans must outlive a later merge or removal of the person they name until retention
    deletes them.
    """

    __tablename__ = "place_scan"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer)
    venue_id: Mapped[int] = mapped_column(Integer)
    scanned_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # Tracing: everyone at a venue within a time window (one index range per exposure).
        Index("ix_place_scan_venue_time", "venue_id", "scanned_at"),
        # Trajectories: where one person has been.
        Index("ix_place_scan_person_time", "person_id", "scanned_at"),
        # Retention deletes the oldest scans first.
        Index("ix_place_scan_scanned_at", "scanned_at"),
    )


class Journey(Base):
    """A person aboard a flight, train, bus or taxi on ``service_date``: from a carrier's
    passenger manifest, or reported by a case. A case's journey on its trajectory is matched
    against everyone else's on the same ``(mode, number, service_date)``."""

    __tablename__ = "tracing_journey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(String(24))
    service_date: Mapped[date]
    role: Mapped[str] = mapped_column(String(12))
    carriage: Mapped[str | None] = mapped_column(String(8))
    seat: Mapped[str | None] = mapped_column(String(8))
    boarded_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(12))
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]

    __table_args__ = (
        # One record per person per service: a manifest imported twice adds nothing.
        UniqueConstraint("mode", "number", "service_date", "person_id"),
    )


class Case(Base):
    """A person infected: a confirmed case (确诊) or an asymptomatic infection (无症状).

    ``active_person_id`` equals ``person_id`` while the case is not void and is NULL once it is:
    its unique constraint is what allows one live case per person on every database (a partial
    index would do the same on PostgreSQL only). ``area_path`` is the person's residence when
    the case was opened, and scopes every list and page.
    """

    __tablename__ = "tracing_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    active_person_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str | None] = mapped_column(String(16))
    detection_route: Mapped[str] = mapped_column(String(24))
    onset_date: Mapped[date | None]
    sampled_at: Mapped[datetime | None]
    reported_at: Mapped[datetime]
    source_ref: Mapped[str | None] = mapped_column(String(120))
    lab_result_id: Mapped[int | None] = mapped_column(ForeignKey("lab_result.id"))
    reclassified_at: Mapped[datetime | None]
    # when the case was discharged or died: bulletins date cured, deaths and releases by it,
    # since ``updated_at`` moves with any later edit
    outcome_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_tracing_case_area_path", "area_path"),
        Index("ix_tracing_case_status", "status", "reported_at"),
    )


class Investigation(Base):
    """The epidemiological investigation (流调) of one case: its look-back window, its deadline
    (from the pack), and whether the epidemiologist has confirmed the trajectory."""

    __tablename__ = "tracing_investigation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"), unique=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    status: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    due_at: Mapped[datetime]
    pack_id: Mapped[str] = mapped_column(String(40))
    pack_version: Mapped[int]
    opened_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    confirmed_by_user_id: Mapped[int | None] = mapped_column(Integer)
    contacts_found_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_tracing_investigation_area_path", "area_path", "status"),)


class TrajectoryEntry(Base):
    """One place or journey of the case in the look-back window. Entries pulled automatically
    (scans, home, workplace) are never deleted, only marked ``removed`` by the epidemiologist,
    so pulling again does not bring them back and the record of the decision stays."""

    __tablename__ = "tracing_trajectory_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_investigation.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplace.id"))
    scan_id: Mapped[int | None] = mapped_column(BigIntId)
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("tracing_journey.id"))
    description: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    removed: Mapped[bool] = mapped_column(default=False)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Contact(Base):
    """One person as a contact: one live row per person however many investigations find them
    (several routes and several cases are several evidence rows and links of one contact).

    ``active_person_id`` equals ``person_id`` while the contact is not closed and is NULL once
    it is: its unique constraint is what keeps two investigations running at the same moment
    from creating two rows for one person (the pattern of :class:`Case`). ``investigation_id``
    and ``case_id`` name the investigation that found the person first; every investigation
    that found them has a :class:`ContactLink`. ``category`` is the strongest, ``last_exposure_at``
    the latest and ``due_at`` the earliest of the live links. ``already_case_id`` names the
    person's own case when they are one already; such a contact is closed at once and never
    handed to isolation."""

    __tablename__ = "tracing_contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(ForeignKey("tracing_investigation.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    active_person_id: Mapped[int | None] = mapped_column(Integer)
    area_path: Mapped[str] = mapped_column(AreaPath())
    category: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    rule_ref: Mapped[str] = mapped_column(String(160))
    last_exposure_at: Mapped[datetime]
    due_at: Mapped[datetime]
    via_contact_person_id: Mapped[int | None] = mapped_column(Integer)
    already_case_id: Mapped[int | None] = mapped_column(Integer)
    closed_reason: Mapped[str | None] = mapped_column(String(32))
    identified_at: Mapped[datetime]
    handed_over_at: Mapped[datetime | None]
    handed_over_by_user_id: Mapped[int | None] = mapped_column(Integer)
    isolation_ref: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("investigation_id", "person_id"),
        Index("ix_tracing_contact_area_status", "area_path", "status", "due_at"),
        # A unique index rather than a constraint: SQLite adds it without rebuilding the table
        # (which the rows of tracing_contact_link and the evidence refer to).
        Index("uq_tracing_contact_active_person", "active_person_id", unique=True),
    )


class ContactLink(Base):
    """One investigation's finding of a contact: under which rule, which category, the last
    exposure to that case and the hand-over deadline it sets. ``status`` is ``active`` or
    ``withdrawn`` (the investigation no longer finds the person after its trajectory was
    corrected)."""

    __tablename__ = "tracing_contact_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("tracing_contact.id"), index=True)
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_investigation.id"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    rule_ref: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16))
    last_exposure_at: Mapped[datetime]
    due_at: Mapped[datetime]
    via_contact_person_id: Mapped[int | None] = mapped_column(Integer)
    identified_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("contact_id", "investigation_id"),)


class ContactEvidence(Base):
    """Why one contact is a contact: which case, on what basis, where, when and for how long."""

    __tablename__ = "tracing_contact_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("tracing_contact.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"))
    basis: Mapped[str] = mapped_column(String(24))
    venue_id: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(Integer)
    workplace_id: Mapped[int | None] = mapped_column(Integer)
    via_person_id: Mapped[int | None] = mapped_column(Integer)
    journey_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
    minutes: Mapped[int | None]


class TransmissionLink(Base):
    """Case ``infector_case_id`` probably infected case ``infectee_case_id``: made when a person
    who was a contact of a case becomes a case, from that contact's strongest evidence
    (``basis``), with a ``confidence`` the epidemiologist may revise."""

    __tablename__ = "tracing_transmission_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    infector_case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"), index=True)
    infectee_case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("tracing_contact.id"))
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    basis: Mapped[str] = mapped_column(String(24))
    confidence: Mapped[str] = mapped_column(String(8))
    exposure_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("infector_case_id", "infectee_case_id"),)


class SelfCheckAttempt(Base):
    """One resident self-check (自查), counted per account and per address in a sliding window
    to throttle it (the pattern of :class:`fangkong.accounts.models.LoginFailure`). Refused
    checks store nothing."""

    __tablename__ = "tracing_self_check_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    attempted_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_tracing_self_check_attempt_user", "user_id", "attempted_at"),
        Index("ix_tracing_self_check_attempt_ip", "ip", "attempted_at"),
    )


class CompanionFlag(Base):
    """A spatio-temporal companion (时空伴随者) of a case, under a pack's companion rule: the
    person scanned a venue in the same grid cell as a venue on the case's confirmed trajectory,
    overlapping it for ``minutes``. Evidence: the person's venue, the case's venue, the cell and
    the time. Not a contact: the health code reads it (yellow under the pack's rule)."""

    __tablename__ = "tracing_companion_flag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(ForeignKey("tracing_investigation.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    venue_id: Mapped[int] = mapped_column(Integer)
    case_venue_id: Mapped[int] = mapped_column(Integer)
    cell: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    minutes: Mapped[int]
    rule_ref: Mapped[str] = mapped_column(String(160))
    flagged_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("investigation_id", "person_id"),)
