"""Scheduled work of the tracing domain: the case intake from positive results.

Run every few minutes by the scheduler (``fangkong tracing open-cases``). Idempotent: a second
run opens nothing; a case opened meanwhile by an epidemiologist is skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fangkong.tracing import actions
from fangkong.tracing.models import Case


def run_case_intake(*, session: Session, since: datetime | None = None) -> list[Case]:
    """Open a case (and its investigation) for every new single-person positive; the caller
    commits. Audit events are written as ``system`` citing ``tracing.case_from_positive_result``."""
    return actions.open_cases_from_positive_results(session=session, actor=None, since=since)
