"""Tables of the testing domain: campaigns (test rounds), tubes, who is in each tube, lab results
and the outcome report of every uploaded result file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base, BigIntId


class TestCampaign(Base):
    """A test round (一轮核酸检测) over an area subtree, with the pool policy it runs under.

    ``rule_ref`` names the rule pack entry that set ``max_pool_size`` (e.g. 10-in-1 for a
    controlled zone), so the choice can be explained afterwards.
    """

    __test__ = False  # the name starts with "Test"; pytest must not collect it
    __tablename__ = "test_campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    max_pool_size: Mapped[int]
    rule_ref: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_test_campaign_area_path", "area_path"),)


class Tube(Base):
    """A sampling tube, known by its printed barcode; ``pool_size`` people at most go in it."""

    __tablename__ = "tube"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    barcode: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("test_campaign.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    pool_size: Mapped[int]
    # Kept in step with tube_member by the same conditional UPDATE that admits people, so the
    # pool cap holds under concurrent scans without locking the tube row.
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    opened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime]
    sealed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_tube_area_path", "area_path"),)


class TubeMember(Base):
    """One person sampled into one tube (each keeps their own code, bound at the moment)."""

    __tablename__ = "tube_member"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    sampled_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("tube_id", "person_id"),)


class ResultUpload(Base):
    """The outcome report of one uploaded result file.

    ``content_sha256`` is unique: the same file uploaded twice is recognised and answered with
    the first report, storing nothing new. ``rejections`` holds every refused record as
    ``{index, code, message, tube_barcode}``.
    """

    __tablename__ = "result_upload"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime]
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    accepted_count: Mapped[int]
    stored_count: Mapped[int]
    duplicate_count: Mapped[int]
    unmatched_count: Mapped[int]
    rejected_count: Mapped[int]
    rejections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text)


class TubeResult(Base):
    """One tube's result as a lab reported it.

    ``idempotency_key`` (lab | message id | barcode) is unique, so a result sent again in another
    file is stored once. ``tube_id`` is NULL when no tube with that barcode was registered: the
    result is kept (nothing a lab reported is lost) and listed for follow-up.
    """

    __tablename__ = "lab_result"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("result_upload.id"), index=True)
    tube_id: Mapped[int | None] = mapped_column(ForeignKey("tube.id"), index=True)
    tube_barcode: Mapped[str] = mapped_column(String(40), index=True)
    lab_id: Mapped[str] = mapped_column(String(80))
    message_id: Mapped[str] = mapped_column(String(120))
    result: Mapped[str] = mapped_column(String(16))
    loinc_code: Mapped[str] = mapped_column(String(16))
    ct_values: Mapped[dict[str, float]] = mapped_column(JSON)
    collected_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    # indexed: the daily figures count the tubes whose first result came in the day
    reported_at: Mapped[datetime] = mapped_column(index=True)
    stored_at: Mapped[datetime]

    # A tube's latest result is found by (tube, report time). Without this pair SQLite's planner
    # took the report-time index for that join and a health-code recompute ran 3x slower.
    __table_args__ = (Index("ix_lab_result_tube_id_reported_at", "tube_id", "reported_at"),)


class SamplingScan(Base):
    """One acknowledged scan at a sampling site: who was bound to which tube, how, and with
    which flags (``repeat_in_round``, ``outside_round_scope``).

    A row exists only for a scan that was accepted; the sampler's phone is answered after the
    transaction holding it commits. ``client_scan_id`` (unique) lets a phone resend a scan whose
    answer it never received without binding the person twice.
    """

    __tablename__ = "sampling_scan"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    client_scan_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("test_campaign.id"))
    method: Mapped[str] = mapped_column(String(16))
    person_ids: Mapped[list[int]] = mapped_column(JSON)
    flags: Mapped[list[str]] = mapped_column(JSON)
    sampler_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    scanned_at: Mapped[datetime]
    stored_at: Mapped[datetime]

    __table_args__ = (Index("ix_sampling_scan_campaign_id", "campaign_id"),)


class SamplingIntake(Base):
    """A scan as the fast lane received it, appended before the sampler is answered.

    The intake is append-only: the ingest path only inserts (one multi-row INSERT per group
    commit), and the applier (``fangkong testing apply-scans``, or the server's background task)
    later runs each row through the same checks as the synchronous endpoint, filling the outcome
    columns in the same transaction as the row's effects, exactly once. ``client_scan_id`` is
    unique per sampler, so a phone that resends a scan gets the first row back.
    """

    __tablename__ = "sampling_intake"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    client_scan_id: Mapped[str] = mapped_column(String(64))
    tube_barcode: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(16))
    person_ids: Mapped[list[int]] = mapped_column(JSON)
    id_lookup_keys: Mapped[list[str]] = mapped_column(JSON)
    scanned_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    # Filled by the applier: "applied" (scan_id, flags) or "rejected" (error code and message).
    outcome: Mapped[str | None] = mapped_column(String(16))
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_scan.id"))
    flags: Mapped[list[str] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("user_id", "client_scan_id"),
        # The applier's queue: only rows still waiting are in this (partial) index.
        Index(
            "ix_sampling_intake_pending",
            "id",
            sqlite_where=text("outcome IS NULL"),
            postgresql_where=text("outcome IS NULL"),
        ),
    )


# --- What a result does (docs/testing.md "What a result does") ------------------------------


class TubeOutcome(Base):
    """One stored lab result applied to its tube: the effect run that applied it and the tube's
    turnaround (first sample taken → result reported), kept for every tube.

    ``lab_result_id`` is unique, so applying the same results again changes nothing.
    ``member_count`` is the number of people in the tube when the result was applied: more than
    one makes a positive a positive pool (混阳管).
    """

    __tablename__ = "tube_outcome"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    lab_result_id: Mapped[int] = mapped_column(ForeignKey("lab_result.id"), unique=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("test_campaign.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    result: Mapped[str] = mapped_column(String(16))
    member_count: Mapped[int]
    sampled_at: Mapped[datetime]
    result_at: Mapped[datetime]
    turnaround_seconds: Mapped[int]
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    applied_at: Mapped[datetime]

    # result_at: the dashboard reads the last day's turnaround of a whole city
    __table_args__ = (
        Index("ix_tube_outcome_area_path", "area_path"),
        Index("ix_tube_outcome_result_at", "result_at", "area_path", "turnaround_seconds"),
    )


class PersonTestStatus(Base):
    """Where one person stands in one round: sampled, negative, pending review (待复核),
    positive or to be re-sampled. Health codes, coverage and the 应检未检 lists read it.

    A read model derived from ``tube_member`` and ``tube`` (whose foreign keys already hold),
    written only by set-based statements, 4 million rows a round in a large city: it carries no
    foreign keys of its own, whose per-row checks would cost more than the whole write. On
    PostgreSQL its pages are filled to 45 % (migration ``testing_person_status_fillfactor``) so
    that a result updates the ``sampled`` row in place (HOT, no new index entry).
    """

    __tablename__ = "person_test_status"

    # The person leads the key: a health code reads one person's rounds, and a round's results
    # are written in person order.
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    tube_id: Mapped[int | None] = mapped_column(BigIntId)
    last_sampled_at: Mapped[datetime]
    result_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ResampleOrder(Base):
    """A single-tube door-to-door re-sample of one person, after a positive pool or an invalid
    or inconclusive tube. Done when a later single-tube result for the person is applied."""

    __tablename__ = "resample_order"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("test_campaign.id"), index=True)
    tube_outcome_id: Mapped[int] = mapped_column(ForeignKey("tube_outcome.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    reason: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    rule_ref: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_outcome_id: Mapped[int | None] = mapped_column(ForeignKey("tube_outcome.id"))

    __table_args__ = (
        UniqueConstraint("tube_outcome_id", "person_id"),
        Index("ix_resample_order_area_path", "area_path"),
    )


class Alert(Base):
    """A positive tube announced in the platform to the community, the testing working group and
    the police of its area (``audiences``), until someone acknowledges it."""

    __tablename__ = "testing_alert"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    tube_outcome_id: Mapped[int] = mapped_column(ForeignKey("tube_outcome.id"), unique=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("test_campaign.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    audiences: Mapped[str] = mapped_column(String(80))
    member_count: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    rule_ref: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (Index("ix_testing_alert_area_path", "area_path"),)


class SamplingPriority(Base):
    """A building whose residents are sampled first in an open round, because a positive pool
    held one of them (only where the rule pack enables it)."""

    __tablename__ = "sampling_priority"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("test_campaign.id"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), primary_key=True)
    tube_outcome_id: Mapped[int] = mapped_column(ForeignKey("tube_outcome.id"))
    rule_ref: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]


class PersonTestSummary(Base):
    """One row per person who was ever sampled: what the health-code recompute needs of their
    samples, so the nightly run of a whole city reads one row per person instead of grouping
    millions of samples with their tubes' results (``testing.summary`` keeps it).

    A read model derived from ``tube_member``, ``tube`` and ``lab_result``, rewritten for the
    people concerned in the same transaction as the writes that change it (members added, a
    round's scans stored, results applied) and rebuilt by ``fangkong testing rebuild-summary``.
    Times are integer microseconds since the epoch (UTC): a whole city's worth is read as
    integers, with no per-row date conversion. No foreign keys, like ``person_test_status``.
    """

    __tablename__ = "person_test_summary"

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The latest sample, whatever its result.
    last_sampled_us: Mapped[int] = mapped_column(BigInteger)
    # The latest sample whose tube's latest result is negative.
    last_negative_us: Mapped[int | None] = mapped_column(BigInteger)
    # The round of the latest sample taken in a round's tube (attendance, without a scan).
    last_campaign_id: Mapped[int | None] = mapped_column(Integer)
    # Bit ``round id % 63`` set for every round the person was ever sampled in: a clear bit
    # proves they never came to that round, so only a set one needs their samples looked at.
    round_bits: Mapped[int] = mapped_column(BigInteger, default=0)
    # The latest sample in a pooled tube whose latest result is positive (混阳, to review).
    pool_positive_us: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class PersonTestSummaryBacklog(Base):
    """Result runs whose members' summaries are still to be moved forward.

    Applying a whole round's results must update millions of statuses within the round's
    deadline; moving the same people's summaries forward costs about as much again, and only
    the nightly recompute reads them (a code changed by a result is recomputed from the samples
    themselves). So the effects queue their run here, in their own transaction, and
    ``testing.summary.fold_backlog`` folds it later: before every full recompute, and from
    ``fangkong testing fold-summaries``. Nothing is lost if that never ran: the row waits.
    """

    __tablename__ = "person_test_summary_backlog"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    queued_at: Mapped[datetime]
