"""Audit actions of the vaccination domain."""

from __future__ import annotations

DOSES_IMPORTED = "vaccination.doses_imported"
SUBJECT_IMPORT = "dose_import"
LEVELS_REBUILT = "vaccination.levels_rebuilt"
SUBJECT_LEVELS = "vaccination_level"
