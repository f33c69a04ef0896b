"""The common shape every lab-result format is parsed into."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from fangkong.testing.enums import LabResult, ResultFormat
from fangkong.testing.errors import TestingErrorCode

# Labs in China commonly send wall-clock times without an offset; they are read in this zone
# unless the caller passes the lab's own zone.
DEFAULT_LAB_TIMEZONE = ZoneInfo("Asia/Shanghai")

# A tube barcode: 4 to 40 letters, digits, '-' or '_' (Code 128 labels printed by the sampling
# kits). Anything else is refused rather than guessed at.
TUBE_BARCODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{4,40}")


@dataclass(frozen=True, slots=True)
class LabResultRecord:
    """One tube's result as a lab reported it.

    ``ct_values`` maps a target name (``ORF1ab``, ``N``, ``E``, ``S``, ``N1``, ``RdRp`` or
    ``RNA`` when the lab does not name one) to its cycle threshold. ``message_id`` is the lab's
    own id for this report (HL7 MSH-10, the FHIR Observation identifier, the CSV ``record_id``);
    together with ``lab_id`` and ``tube_barcode`` it makes :attr:`idempotency_key`, so a file
    sent twice is recognised.
    """

    tube_barcode: str
    result: LabResult
    loinc_code: str
    lab_id: str
    message_id: str
    collected_at: datetime
    reported_at: datetime
    received_at: datetime | None = None
    ct_values: Mapping[str, float] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return f"{self.lab_id}|{self.message_id}|{self.tube_barcode}"


@dataclass(frozen=True, slots=True)
class RecordRejection:
    """A refused record. ``index`` is the 1-based line (CSV, HL7 segment) or entry (FHIR)."""

    index: int
    code: TestingErrorCode
    message: str
    tube_barcode: str | None = None


@dataclass(slots=True)
class ParseReport:
    """The outcome of parsing one file: what was accepted and why each refusal happened."""

    format: ResultFormat
    accepted: list[LabResultRecord] = field(default_factory=list)
    rejected: list[RecordRejection] = field(default_factory=list)

    def reject(
        self,
        index: int,
        code: TestingErrorCode,
        message: str,
        tube_barcode: str | None = None,
    ) -> None:
        self.rejected.append(RecordRejection(index, code, message, tube_barcode))

    @property
    def rejection_codes(self) -> list[TestingErrorCode]:
        return [rejection.code for rejection in self.rejected]


class RecordRefused(Exception):
    """Raised inside a parser to refuse the record being built; never leaves the package."""

    def __init__(
        self, code: TestingErrorCode, message: str, tube_barcode: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.tube_barcode = tube_barcode


def check_tube_barcode(value: str | None) -> str:
    if value is None or not value.strip():
        raise RecordRefused(TestingErrorCode.TUBE_ID_MISSING, "the record names no tube barcode")
    value = value.strip()
    if TUBE_BARCODE_PATTERN.fullmatch(value) is None:
        raise RecordRefused(
            TestingErrorCode.TUBE_ID_INVALID,
            f"tube barcode {value!r} is not 4-40 letters, digits, '-' or '_'",
        )
    return value


def check_times(
    collected_at: datetime, received_at: datetime | None, reported_at: datetime
) -> None:
    """Refuse a record whose times run backwards (a lab cannot report before collection)."""
    if received_at is not None and received_at < collected_at:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_ORDER, "the specimen was received before it was collected"
        )
    if reported_at < collected_at:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_ORDER, "the result was reported before collection"
        )


def check_ct_value(raw: str | float, target: str) -> float:
    """A cycle threshold must be a number in (0, 50]; PCR runs stop at 40-45 cycles."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise RecordRefused(
            TestingErrorCode.CT_VALUE_INVALID, f"Ct value {raw!r} for {target} is not a number"
        ) from None
    if not 0 < value <= 50:
        raise RecordRefused(
            TestingErrorCode.CT_VALUE_INVALID, f"Ct value {value} for {target} is outside (0, 50]"
        )
    return value


def combine_results(results: list[LabResult]) -> LabResult:
    """One tube result from several qualitative observations (e.g. one per gene target).

    Any invalid run makes the tube invalid; targets that disagree (one detected, another not)
    make it inconclusive, which is how a single-target positive (单靶阳性) is handled: the tube
    is re-tested rather than called either way.
    """
    distinct = set(results)
    if LabResult.INVALID in distinct:
        return LabResult.INVALID
    if len(distinct) == 1:
        return results[0]
    return LabResult.INCONCLUSIVE
