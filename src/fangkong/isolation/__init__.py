"""Isolation: facilities and rooms, isolation orders, in-isolation tests and release."""
