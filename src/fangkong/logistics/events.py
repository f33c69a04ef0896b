"""Audit actions of the logistics domain."""

from __future__ import annotations

REQUEST_MADE = "logistics.request_made"
TASKS_CREATED = "logistics.tasks_created"
VOLUNTEER_REGISTERED = "logistics.volunteer_registered"
TASK_CLAIMED = "logistics.task_claimed"
TASK_COMPLETED = "logistics.task_completed"

SUBJECT_REQUEST = "supply_request"
SUBJECT_TASK = "delivery_task"
SUBJECT_VOLUNTEER = "volunteer"
