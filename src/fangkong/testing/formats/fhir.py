"""FHIR R4 JSON lab results: a Bundle (collection, transaction or batch) or one Observation.

A result is an Observation whose ``code`` holds an accepted LOINC presence code and whose
``valueCodeableConcept`` holds a SNOMED CT qualifier. The tube barcode comes from
``Observation.specimen``: a reference to a Specimen in the bundle (``fullUrl``,
``Specimen/<id>``) or contained (``#id``), whose ``accessionIdentifier`` or first ``identifier``
is the barcode; or a logical reference carrying ``identifier.value`` directly. Ct values come
from ``component`` entries or from separate Ct Observations on the same specimen. Other
resources (Patient, Organization, DiagnosticReport ...) are only used to resolve references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fangkong.testing.enums import LabResult, ResultFormat
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.records import (
    LabResultRecord,
    ParseReport,
    RecordRefused,
    check_ct_value,
    check_times,
    check_tube_barcode,
    combine_results,
)
from fangkong.testing.formats.vocabulary import (
    ACCEPTED_PRESENCE_CODES,
    LOINC_SYSTEM,
    SNOMED_RESULTS,
    SNOMED_SYSTEM,
    ct_target,
)

Resource = Mapping[str, Any]
BUNDLE_TYPES = frozenset({"collection", "transaction", "batch"})
FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
# FHIR dateTime with a time of day must carry a zone (FHIR R4 §2.24.0.1, dateTime).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def parse_fhir(text: str) -> ParseReport:
    """Parse a FHIR R4 Bundle or Observation; ``index`` in refusals is the 1-based entry."""
    report = ParseReport(ResultFormat.FHIR)
    try:
        document = json.loads(text)
    except ValueError as error:
        report.reject(1, TestingErrorCode.FILE_UNREADABLE, f"not JSON: {error}")
        return report
    if not isinstance(document, dict):
        report.reject(1, TestingErrorCode.FILE_UNREADABLE, "the JSON is not a FHIR resource")
        return report
    kind = document.get("resourceType")
    if kind == "Observation":
        entries: list[tuple[int, Any, Any]] = [(1, document, None)]
    elif kind == "Bundle":
        bundle_type = document.get("type")
        if not isinstance(bundle_type, str) or bundle_type not in BUNDLE_TYPES:
            report.reject(
                1,
                TestingErrorCode.FHIR_BUNDLE_TYPE_UNSUPPORTED,
                f"Bundle.type {document.get('type')!r} is not collection, transaction or batch",
            )
            return report
        entries = [
            (position, entry.get("resource"), entry.get("fullUrl"))
            for position, entry in enumerate(_items(document.get("entry")), start=1)
            if isinstance(entry, dict)
        ]
    else:
        report.reject(
            1, TestingErrorCode.FHIR_RESOURCE_UNSUPPORTED, f"resourceType {kind!r} is not read"
        )
        return report
    _Bundle(entries, report).run()
    return report


class _Bundle:
    def __init__(self, entries: list[tuple[int, Any, Any]], report: ParseReport) -> None:
        self.entries = entries
        self.report = report
        self.by_reference: dict[str, Resource] = {}
        for _, resource, full_url in entries:
            if not isinstance(resource, dict):
                continue
            if isinstance(full_url, str) and full_url:
                self.by_reference[full_url] = resource
            if isinstance(resource.get("id"), str) and resource.get("id"):
                self.by_reference[f"{resource.get('resourceType')}/{resource['id']}"] = resource

    def run(self) -> None:
        results: list[tuple[int, Resource]] = []
        ct_by_tube: dict[str, list[tuple[int, str, float]]] = {}
        for index, resource, _ in self.entries:
            if not isinstance(resource, dict):
                self.report.reject(
                    index, TestingErrorCode.FHIR_OBSERVATION_MALFORMED, "entry has no resource"
                )
                continue
            if resource.get("resourceType") != "Observation":
                continue
            codes = _codes(resource.get("code"), LOINC_SYSTEM)
            if any(code in ACCEPTED_PRESENCE_CODES for code in codes):
                results.append((index, resource))
                continue
            target = next(
                (t for code in codes if (t := ct_target(code, _text(resource.get("code"))))),
                None,
            )
            if target is None:
                self.report.reject(
                    index,
                    TestingErrorCode.TEST_CODE_NOT_ACCEPTED,
                    f"Observation code {codes or None} is not an accepted SARS-CoV-2 RNA code",
                )
                continue
            try:
                barcode = self._barcode(resource)
                value = check_ct_value(_quantity(resource), target)
            except RecordRefused as refused:
                self.report.reject(index, refused.code, refused.message, refused.tube_barcode)
                continue
            ct_by_tube.setdefault(barcode, []).append((index, target, value))
        seen: set[str] = set()
        for index, resource in results:
            try:
                record = self._record(resource, ct_by_tube)
                if record.idempotency_key in seen:
                    raise RecordRefused(
                        TestingErrorCode.DUPLICATE_RECORD,
                        f"Observation {record.message_id} appears twice",
                        record.tube_barcode,
                    )
                seen.add(record.idempotency_key)
                self.report.accepted.append(record)
            except RecordRefused as refused:
                self.report.reject(index, refused.code, refused.message, refused.tube_barcode)
        matched = {record.tube_barcode for record in self.report.accepted}
        for barcode, values in ct_by_tube.items():
            if barcode not in matched:
                for index, target, _ in values:
                    self.report.reject(
                        index,
                        TestingErrorCode.CT_WITHOUT_RESULT,
                        f"Ct for {target} has no accepted result for tube {barcode}",
                        barcode,
                    )
        self.report.rejected.sort(key=lambda rejection: rejection.index)

    def _resolve(self, reference: Any, container: Resource) -> Resource | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        target = reference["reference"]
        if target.startswith("#"):
            return next(
                (
                    item
                    for item in _items(container.get("contained"))
                    if isinstance(item, dict) and item.get("id") == target[1:]
                ),
                None,
            )
        return self.by_reference.get(target)

    def _specimen(self, observation: Resource) -> Resource | None:
        return self._resolve(observation.get("specimen"), observation)

    def _barcode(self, observation: Resource) -> str:
        reference = observation.get("specimen")
        value: Any = None
        if isinstance(reference, dict) and isinstance(reference.get("identifier"), dict):
            value = reference["identifier"].get("value")
        specimen = self._specimen(observation)
        if value is None and specimen is not None:
            identifiers = [specimen.get("accessionIdentifier"), *_items(specimen.get("identifier"))]
            value = next(
                (item.get("value") for item in identifiers if isinstance(item, dict)), None
            )
        return check_tube_barcode(value if isinstance(value, str) else None)

    def _record(
        self, observation: Resource, ct_by_tube: dict[str, list[tuple[int, str, float]]]
    ) -> LabResultRecord:
        barcode = self._barcode(observation)
        try:
            return self._record_of_tube(observation, barcode, ct_by_tube.get(barcode, []))
        except RecordRefused as refused:
            refused.tube_barcode = barcode
            raise

    def _record_of_tube(
        self, observation: Resource, barcode: str, cts: list[tuple[int, str, float]]
    ) -> LabResultRecord:
        status = observation.get("status")
        if not isinstance(status, str) or status not in FINAL_STATUSES:
            raise RecordRefused(
                TestingErrorCode.RESULT_NOT_FINAL,
                f"Observation.status {status!r} is not final, amended or corrected",
            )
        result = _result(observation.get("valueCodeableConcept"))
        loinc = next(
            c for c in _codes(observation.get("code"), LOINC_SYSTEM) if c in ACCEPTED_PRESENCE_CODES
        )
        ct_values = {target: value for _, target, value in cts}
        for component in _items(observation.get("component")):
            if not isinstance(component, dict):
                continue
            for code in _codes(component.get("code"), None):
                target = ct_target(code, _text(component.get("code")))
                if target is not None:
                    ct_values[target] = check_ct_value(_quantity(component), target)
        specimen = self._specimen(observation) or {}
        collection = specimen.get("collection")
        collected_raw = (
            collection.get("collectedDateTime") if isinstance(collection, dict) else None
        ) or observation.get("effectiveDateTime")
        period = observation.get("effectivePeriod")
        if collected_raw is None and isinstance(period, dict):
            collected_raw = period.get("start")
        collected_at = _time(collected_raw, "collection time")
        reported_at = _time(observation.get("issued"), "Observation.issued")
        received_raw = specimen.get("receivedTime")
        received_at = _time(received_raw, "Specimen.receivedTime") if received_raw else None
        check_times(collected_at, received_at, reported_at)
        return LabResultRecord(
            tube_barcode=barcode,
            result=result,
            loinc_code=loinc,
            lab_id=self._lab_id(observation),
            message_id=_message_id(observation),
            collected_at=collected_at,
            reported_at=reported_at,
            received_at=received_at,
            ct_values=ct_values,
        )

    def _lab_id(self, observation: Resource) -> str:
        for performer in _items(observation.get("performer")):
            if not isinstance(performer, dict):
                continue
            identifier = performer.get("identifier")
            if isinstance(identifier, dict) and identifier.get("value"):
                return str(identifier["value"])
            organization = self._resolve(performer, observation)
            for item in _items((organization or {}).get("identifier")):
                if isinstance(item, dict) and item.get("value"):
                    return str(item["value"])
        raise RecordRefused(
            TestingErrorCode.LAB_ID_MISSING, "Observation.performer names no laboratory"
        )


def _codes(concept: Any, system: str | None) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [
        str(coding["code"])
        for coding in _items(concept.get("coding"))
        if isinstance(coding, dict)
        and coding.get("code")
        and (system is None or coding.get("system") in (system, None))
    ]


def _text(concept: Any) -> str | None:
    text = concept.get("text") if isinstance(concept, dict) else None
    return text if isinstance(text, str) else None


def _items(value: Any) -> list[Any]:
    """A JSON array, or nothing when the document put something else where an array belongs."""
    return value if isinstance(value, list) else []


def _quantity(resource: Resource) -> Any:
    quantity = resource.get("valueQuantity")
    return quantity.get("value") if isinstance(quantity, dict) else None


def _result(concept: Any) -> LabResult:
    codes = _codes(concept, SNOMED_SYSTEM)
    if not codes:
        raise RecordRefused(
            TestingErrorCode.RESULT_MISSING, "Observation has no SNOMED CT valueCodeableConcept"
        )
    known = [SNOMED_RESULTS[code] for code in codes if code in SNOMED_RESULTS]
    if not known:
        raise RecordRefused(
            TestingErrorCode.RESULT_CODE_UNKNOWN,
            f"value {codes} is not an accepted SNOMED CT result code",
        )
    return combine_results(known)


def _message_id(observation: Resource) -> str:
    for identifier in _items(observation.get("identifier")):
        if isinstance(identifier, dict) and identifier.get("value"):
            return str(identifier["value"])
    if observation.get("id"):
        return str(observation["id"])
    raise RecordRefused(
        TestingErrorCode.MESSAGE_ID_MISSING, "the Observation has neither identifier nor id"
    )


def _time(raw: Any, what: str) -> datetime:
    if raw is None or raw == "":
        raise RecordRefused(TestingErrorCode.TIMESTAMP_MISSING, f"{what} is missing")
    if not isinstance(raw, str) or _DATE_TIME.fullmatch(raw) is None:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_INVALID,
            f"{what} {raw!r} is not a FHIR dateTime with time of day and zone",
        )
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_INVALID, f"{what} {raw!r} is not a real date/time"
        ) from None
