"""Stable refusal codes of the logistics domain (documented in ``docs/logistics.md``)."""

from __future__ import annotations

from enum import StrEnum


class LogisticsErrorCode(StrEnum):
    HOUSEHOLD_NOT_FOUND = "logistics.household_not_found"
    HOUSEHOLD_NOT_CONTROLLED = "logistics.household_not_in_controlled_area"
    MEDICAL_NEED_REQUIRED = "logistics.medical_need_required"
    DETAIL_REQUIRED = "logistics.detail_required"
    REQUEST_NOT_FOUND = "logistics.request_not_found"
    NOTHING_TO_TASK = "logistics.nothing_to_task"
    VOLUNTEER_NOT_GREEN = "logistics.volunteer_health_code_not_green"
    VOLUNTEER_NO_HEALTH_CODE = "logistics.volunteer_has_no_health_code"
    VOLUNTEER_ALREADY_REGISTERED = "logistics.volunteer_already_registered"
    VOLUNTEER_NOT_REGISTERED = "logistics.volunteer_not_registered"
    TASK_NOT_FOUND = "logistics.task_not_found"
    TASK_ALREADY_CLAIMED = "logistics.task_already_claimed"
    TASK_NOT_YOURS = "logistics.task_not_yours"
    MINUTES_INVALID = "logistics.minutes_invalid"
