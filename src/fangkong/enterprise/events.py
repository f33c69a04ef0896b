"""Audit actions of the enterprise domain (the ``action`` of each audit event it writes)."""

from __future__ import annotations

ENTERPRISE_REGISTERED = "enterprise.registered"
STAFF_LINKED = "enterprise.staff_linked"
APPLICATION_SUBMITTED = "enterprise.application_submitted"
APPLICATION_RESUBMITTED = "enterprise.application_resubmitted"
APPLICATION_CHANGES_REQUESTED = "enterprise.application_changes_requested"
APPLICATION_APPROVED = "enterprise.application_approved"
APPLICATION_REFUSED = "enterprise.application_refused"
LIAISON_ASSIGNED = "enterprise.liaison_assigned"
DAILY_REPORT_FILED = "enterprise.daily_report_filed"
PASSES_ISSUED = "enterprise.passes_issued"
PASS_REVOKED = "enterprise.pass_revoked"
TICKET_OPENED = "enterprise.ticket_opened"
TICKET_ESCALATED = "enterprise.ticket_escalated"
TICKET_CLOSED = "enterprise.ticket_closed"

SUBJECT_ENTERPRISE = "enterprise"
SUBJECT_APPLICATION = "resumption_application"
SUBJECT_PASS = "enterprise_pass"
SUBJECT_TICKET = "problem_ticket"
