"""Contacts on a shared journey (pure): who on the case's flight, train, bus or taxi ride is a
close contact under the pack's transport rule, each with the evidence in words.

No database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from fangkong.tracing.enums import ContactBasis, TransportMode, TravellerRole
from fangkong.tracing.rules import Evidence
from fangkong.tracing.section import TransportRule

_ROW = re.compile(r"^\s*0*(\d{1,3})")


def seat_row(seat: str | None) -> int | None:
    """The row of a seat label ("12C" → 12, "05" → 5); None when the label names no row."""
    if not seat:
        return None
    match = _ROW.match(seat)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Journey:
    """One service: ``number`` is the flight or train number, the coach service or the plate."""

    mode: TransportMode
    number: str
    service_date: date


@dataclass(frozen=True)
class Traveller:
    """Someone aboard: ``journey_id`` names their recorded journey row, the proof they were
    there; ``carriage`` and ``seat`` as the ticket or manifest gives them."""

    person_id: int
    role: TravellerRole = TravellerRole.PASSENGER
    carriage: str | None = None
    seat: str | None = None
    boarded_at: datetime | None = None
    journey_id: int | None = None


def _seats(other: Traveller, case: Traveller) -> str:
    return f"seat {other.seat or 'unknown'} vs case seat {case.seat or 'unknown'}"


def _why(journey: Journey, case: Traveller, other: Traveller, rule: TransportRule) -> str | None:
    """The evidence in words when ``other`` is a close contact on this journey, else None (a
    general contact, 一般接触者: monitored, not isolated)."""
    what = f"same {journey.mode} {journey.number} on {journey.service_date.isoformat()}"
    if other.role is TravellerRole.CREW:
        return f"{what}, crew"
    if journey.mode is TransportMode.FLIGHT:
        row, case_row = seat_row(other.seat), seat_row(case.seat)
        if row is None or case_row is None:
            # Without both rows the distance is unknown: the whole cabin counts.
            return f"{what}, {_seats(other, case)}"
        if abs(row - case_row) > rule.flight_rows:
            return None
        return f"{what}, row {row} vs case row {case_row}"
    if journey.mode is TransportMode.TRAIN:
        if other.carriage is None or case.carriage is None:
            return f"{what}, carriage unknown"
        if other.carriage.strip().lstrip("0") != case.carriage.strip().lstrip("0"):
            return None
        if rule.train_rows is None:
            return f"{what}, carriage {case.carriage} (the case's carriage)"
        row, case_row = seat_row(other.seat), seat_row(case.seat)
        if row is not None and case_row is not None and abs(row - case_row) > rule.train_rows:
            return None
        return f"{what}, carriage {case.carriage}, {_seats(other, case)}"
    if other.boarded_at is not None and case.boarded_at is not None:
        if abs(other.boarded_at - case.boarded_at) > rule.same_trip_within:
            return None
        return f"{what}, boarded {other.boarded_at:%H:%M} vs case {case.boarded_at:%H:%M} (UTC)"
    return f"{what}, boarding time unknown"


def transport_contacts(
    *,
    journey: Journey,
    case: Traveller,
    others: Iterable[Traveller],
    rule: TransportRule,
    at: datetime,
) -> list[Evidence]:
    """The close contacts among ``others`` (everyone else recorded on ``journey``), each as one
    evidence row with ``basis`` ``transport``; ``at`` is the moment of the shared journey
    (the case's boarding, or the trajectory entry's start)."""
    found = []
    for other in sorted(others, key=lambda item: (item.person_id, item.journey_id or 0)):
        if other.person_id == case.person_id:
            continue
        detail = _why(journey, case, other, rule)
        if detail is None:
            continue
        found.append(
            Evidence(
                other.person_id,
                ContactBasis.TRANSPORT,
                at,
                journey_id=other.journey_id,
                detail=detail,
            )
        )
    return found


# --- Manifest rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JourneyRecord:
    """A journey row that passed the checks needing no database; the person is named by
    ``person_id`` or by ``id_number`` (resolved against the registry by the caller)."""

    journey: Journey
    role: TravellerRole
    carriage: str | None
    seat: str | None
    boarded_at: datetime | None
    person_id: int | None
    id_number: str | None


@dataclass(frozen=True)
class JourneyProblem:
    index: int
    field: str
    message: str


def _text(raw: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = raw.get(key)
    text = str(value).strip() if value is not None else ""
    if len(text) > limit:
        raise ValueError(f"at most {limit} characters")
    return text or None


def _one_of(raw: Mapping[str, Any], key: str, kind: type[StrEnum], *, default: str) -> str:
    value = str(raw.get(key) or default).strip().lower()
    allowed = [str(item) for item in kind]
    if value not in allowed:
        raise ValueError(f"one of {', '.join(allowed)}")
    return value


def check_journey(raw: Mapping[str, Any], *, index: int) -> JourneyRecord | JourneyProblem:
    """Check one manifest row (or one journey entered by hand): ``mode`` (flight, train, bus,
    taxi), ``number``, ``service_date`` (YYYY-MM-DD), ``person_id`` or ``id_number``, and
    optionally ``role`` (passenger, crew), ``carriage``, ``seat`` and ``boarded_at`` (ISO time
    with a zone)."""
    field = "mode"
    try:
        mode = TransportMode(_one_of(raw, "mode", TransportMode, default=""))
        field = "number"
        number = _text(raw, "number", 24)
        if number is None:
            raise ValueError("required")
        field = "service_date"
        service_date = date.fromisoformat(str(raw.get("service_date") or "").strip())
        field = "role"
        role = TravellerRole(_one_of(raw, "role", TravellerRole, default="passenger"))
        field = "carriage"
        carriage = _text(raw, "carriage", 8)
        field = "seat"
        seat = _text(raw, "seat", 8)
        field = "boarded_at"
        boarded_text = _text(raw, "boarded_at", 40)
        boarded_at = datetime.fromisoformat(boarded_text) if boarded_text else None
        if boarded_at is not None and boarded_at.utcoffset() is None:
            raise ValueError("needs a time zone")
        field = "person_id"
        person_text = _text(raw, "person_id", 12)
        person_id = int(person_text) if person_text else None
        id_number = _text(raw, "id_number", 40)
        if person_id is None and id_number is None:
            raise ValueError("name the person by person_id or id_number")
    except ValueError as error:
        return JourneyProblem(index, field, str(error) or "invalid")
    return JourneyRecord(
        journey=Journey(mode, number.upper(), service_date),
        role=role,
        carriage=carriage,
        seat=seat.upper() if seat else None,
        boarded_at=boarded_at,
        person_id=person_id,
        id_number=id_number,
    )
