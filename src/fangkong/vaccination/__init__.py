"""Vaccination: dose records, imports (CSV, FHIR R4 Immunization), coverage, status."""
