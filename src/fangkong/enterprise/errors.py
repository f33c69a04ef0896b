"""Stable refusal codes of the enterprise domain (documented in ``docs/enterprise.md``)."""

from __future__ import annotations

from enum import StrEnum


class EnterpriseErrorCode(StrEnum):
    CREDIT_CODE_INVALID = "enterprise.credit_code_invalid"
    CREDIT_CODE_TAKEN = "enterprise.credit_code_taken"
    ENTERPRISE_NOT_FOUND = "enterprise.not_found"
    NOT_YOUR_ENTERPRISE = "enterprise.not_your_enterprise"
    PERSON_NOT_FOUND = "enterprise.person_not_found"
    APPLICATION_NOT_FOUND = "enterprise.application_not_found"
    APPLICATION_PENDING = "enterprise.application_pending"
    APPLICATION_STATUS = "enterprise.application_status_conflict"
    STAFF_LIST_EMPTY = "enterprise.staff_list_empty"
    STAFF_NUMBER_UNKNOWN = "enterprise.staff_number_unknown"
    REASON_REQUIRED = "enterprise.reason_required"
    NOT_APPROVED = "enterprise.not_approved"
    STAFF_ON_SITE_INVALID = "enterprise.staff_on_site_invalid"
    REPORT_DATE_INVALID = "enterprise.report_date_invalid"
    # Passes.
    PASS_NOT_FOUND = "enterprise.pass_not_found"
    PASS_PERSON_NOT_ON_STAFF_LIST = "enterprise.pass_person_not_on_staff_list"
    PASS_VALIDITY_INVALID = "enterprise.pass_validity_invalid"
    PASS_ALREADY_REVOKED = "enterprise.pass_already_revoked"
    PASS_PLATE_INVALID = "enterprise.pass_plate_invalid"
    # Checkpoint outcomes (a refused pass is an answer, not an error of the caller).
    PASS_TOKEN_MALFORMED = "enterprise.pass_token_malformed"
    PASS_TOKEN_FORGED = "enterprise.pass_token_forged"
    PASS_REVOKED = "enterprise.pass_revoked"
    PASS_NOT_YET_VALID = "enterprise.pass_not_yet_valid"
    PASS_EXPIRED = "enterprise.pass_expired"
    PASS_WRONG_SITE = "enterprise.pass_wrong_site"
    HEALTH_CODE_NOT_GREEN = "enterprise.health_code_not_green"
    HEALTH_CODE_MISSING = "enterprise.health_code_missing"
    # Tickets.
    TICKET_NOT_FOUND = "enterprise.ticket_not_found"
    TICKET_CLOSED = "enterprise.ticket_closed"
    RESOLUTION_REQUIRED = "enterprise.resolution_required"
