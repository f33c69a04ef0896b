"""Cross-cutting code shared by every domain: audit events, errors, clock, ids, crypto, scope."""
