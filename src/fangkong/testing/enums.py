from __future__ import annotations

from enum import StrEnum


class LabResult(StrEnum):
    """The qualitative outcome of one tube's nucleic-acid test."""

    DETECTED = "detected"
    NOT_DETECTED = "not_detected"
    INCONCLUSIVE = "inconclusive"
    INVALID = "invalid"


class ResultFormat(StrEnum):
    HL7 = "hl7v2"
    FHIR = "fhir"
    CSV = "csv"


class CodeKind(StrEnum):
    """Whether a registration code stands for one person or an adult presenting a household."""

    PERSON = "P"
    HOUSEHOLD = "H"


class TubeStatus(StrEnum):
    """A tube is open while people are sampled into it, then sealed for transport to the lab."""

    OPEN = "open"
    SEALED = "sealed"


class CampaignStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ScanMethod(StrEnum):
    """How the sampler identified the person: a scanned registration code or an ID number
    typed by hand (an unreadable code)."""

    CODE = "code"
    ID_NUMBER = "id_number"


class ScanFlag(StrEnum):
    """Accepted, but worth a second look by the round's organisers."""

    REPEAT_IN_ROUND = "repeat_in_round"
    OUTSIDE_ROUND_SCOPE = "outside_round_scope"


class PersonTestState(StrEnum):
    """A person's standing in one round (``person_test_status.status``)."""

    SAMPLED = "sampled"
    NEGATIVE = "negative"
    RESAMPLE = "resample"
    PENDING_REVIEW = "pending_review"  # 待复核: a member of a positive pool
    POSITIVE = "positive"


class ResampleReason(StrEnum):
    POSITIVE_POOL = "positive_pool"
    INVALID = "invalid"
    INCONCLUSIVE = "inconclusive"


class OrderStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class AlertKind(StrEnum):
    POSITIVE_POOL = "positive_pool"  # 混阳管
    POSITIVE_SINGLE = "positive_single"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
