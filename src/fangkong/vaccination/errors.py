"""Stable refusal codes of the vaccination domain (documented in ``docs/vaccination.md``)."""

from __future__ import annotations

from enum import StrEnum


class VaccinationErrorCode(StrEnum):
    FILE_UNREADABLE = "vaccination.file_unreadable"
    CSV_HEADER_INVALID = "vaccination.csv_header_invalid"
    FHIR_RESOURCE_UNSUPPORTED = "vaccination.fhir_resource_unsupported"
    RECORD_MALFORMED = "vaccination.record_malformed"
    PERSON_NOT_FOUND = "vaccination.person_not_found"
    PRODUCT_UNKNOWN = "vaccination.product_unknown"
    DOSE_NUMBER_INVALID = "vaccination.dose_number_invalid"
    DOSE_OUT_OF_SEQUENCE = "vaccination.dose_out_of_sequence"
    DOSE_DUPLICATE = "vaccination.dose_duplicate"
    DATE_INVALID = "vaccination.date_invalid"
    DATE_BEFORE_PRODUCT = "vaccination.date_before_product"
    DATE_IN_FUTURE = "vaccination.date_in_future"
    DATE_BEFORE_PREVIOUS_DOSE = "vaccination.date_before_previous_dose"
    STATUS_NOT_COMPLETED = "vaccination.status_not_completed"
