"""Reading dose records from CSV and from FHIR R4 Immunization resources.

Parsing is pure: each source record becomes a ``DoseInput`` or a ``RecordProblem``; the service
then checks them against the registry and the person's earlier doses. One bad record never
stops the others.

CSV header (UTF-8, a BOM is tolerated)::

    id_number,product,dose_number,administered_on,site,lot_number

``product`` is a CVX code or a Chinese product name (see ``products.py``); ``administered_on``
is ``YYYY-MM-DD``. FHIR input is an ``Immunization`` or a ``Bundle`` of them: the person is
``patient.identifier.value`` (the resident ID number), the product the CVX coding of
``vaccineCode`` (or its ``text``, a Chinese product name), the dose
``protocolApplied[0].doseNumberPositiveInt``, the date ``occurrenceDateTime`` and the site
``location.display``; ``status`` must be ``completed``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from fangkong.vaccination.errors import VaccinationErrorCode as E
from fangkong.vaccination.products import CVX_SYSTEM

CSV_COLUMNS = ("id_number", "product", "dose_number", "administered_on", "site", "lot_number")


@dataclass(frozen=True)
class DoseInput:
    record: str  # where it came from: "row 3", "entry 2"
    id_number: str
    product: str
    dose_number: int
    administered_on: date
    site: str
    lot_number: str | None


@dataclass(frozen=True)
class RecordProblem:
    record: str
    code: E
    field: str | None
    message: str


class FileRefused(Exception):
    def __init__(self, code: E, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _dose(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if str(value).strip() == str(number) or isinstance(value, int) else None


def parse_csv(content: bytes) -> tuple[list[DoseInput], list[RecordProblem]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(E.FILE_UNREADABLE, "the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise FileRefused(E.CSV_HEADER_INVALID, "expected header: " + ",".join(CSV_COLUMNS))
    doses: list[DoseInput] = []
    problems: list[RecordProblem] = []
    for line, row in enumerate(reader, start=2):
        record = f"row {line}"
        dose_number = _dose(row["dose_number"])
        administered_on = _parse_date(row["administered_on"] or "")
        if not (row["id_number"] or "").strip() or not (row["product"] or "").strip():
            problems.append(
                RecordProblem(record, E.RECORD_MALFORMED, "id_number", "ID and product needed")
            )
        elif dose_number is None:
            problems.append(
                RecordProblem(record, E.DOSE_NUMBER_INVALID, "dose_number", "not a whole number")
            )
        elif administered_on is None:
            problems.append(
                RecordProblem(record, E.DATE_INVALID, "administered_on", "expected YYYY-MM-DD")
            )
        else:
            doses.append(
                DoseInput(
                    record=record,
                    id_number=row["id_number"].strip(),
                    product=row["product"].strip(),
                    dose_number=dose_number,
                    administered_on=administered_on,
                    site=(row["site"] or "").strip(),
                    lot_number=(row["lot_number"] or "").strip() or None,
                )
            )
    return doses, problems


def parse_fhir(content: bytes) -> tuple[list[DoseInput], list[RecordProblem]]:
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, ValueError):
        raise FileRefused(E.FILE_UNREADABLE, "the file is not JSON") from None
    if not isinstance(document, dict):
        raise FileRefused(E.FHIR_RESOURCE_UNSUPPORTED, "expected a FHIR resource")
    kind = document.get("resourceType")
    if kind == "Immunization":
        resources: list[Any] = [document]
    elif kind == "Bundle":
        resources = [
            entry.get("resource")
            for entry in document.get("entry") or []
            if isinstance(entry, dict)
        ]
    else:
        raise FileRefused(E.FHIR_RESOURCE_UNSUPPORTED, f"cannot read a {kind!r} resource")
    doses: list[DoseInput] = []
    problems: list[RecordProblem] = []
    for index, resource in enumerate(resources, start=1):
        parsed = _immunization(f"entry {index}", resource)
        (doses if isinstance(parsed, DoseInput) else problems).append(parsed)  # type: ignore[arg-type]
    return doses, problems


def _immunization(record: str, resource: Any) -> DoseInput | RecordProblem:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Immunization":
        return RecordProblem(record, E.FHIR_RESOURCE_UNSUPPORTED, None, "not an Immunization")
    if resource.get("status") != "completed":
        return RecordProblem(record, E.STATUS_NOT_COMPLETED, "status", "only completed doses")
    identifier = ((resource.get("patient") or {}).get("identifier") or {}).get("value")
    vaccine = resource.get("vaccineCode") or {}
    codes = [
        c.get("code")
        for c in vaccine.get("coding") or []
        if isinstance(c, dict) and c.get("system") == CVX_SYSTEM
    ]
    product = codes[0] if codes else vaccine.get("text")
    protocol = (resource.get("protocolApplied") or [{}])[0]
    dose_number = protocol.get("doseNumberPositiveInt") if isinstance(protocol, dict) else None
    administered_on = _parse_date(str(resource.get("occurrenceDateTime") or ""))
    if not isinstance(identifier, str) or not isinstance(product, str) or not product:
        return RecordProblem(record, E.RECORD_MALFORMED, "patient", "patient ID and product needed")
    if not isinstance(dose_number, int) or isinstance(dose_number, bool):
        return RecordProblem(record, E.DOSE_NUMBER_INVALID, "protocolApplied", "dose number needed")
    if administered_on is None:
        return RecordProblem(record, E.DATE_INVALID, "occurrenceDateTime", "a date is needed")
    return DoseInput(
        record=record,
        id_number=identifier,
        product=product,
        dose_number=dose_number,
        administered_on=administered_on,
        site=str((resource.get("location") or {}).get("display") or ""),
        lot_number=resource.get("lotNumber")
        if isinstance(resource.get("lotNumber"), str)
        else None,
    )
