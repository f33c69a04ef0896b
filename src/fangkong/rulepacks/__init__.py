"""Rule packs: versioned policy data (numbers with units and sources) and their loader.

A pack is a folder under ``packs/`` holding ``pack.yaml`` (id, version, effective date, sources,
an optional base pack) and one YAML file per domain section (``healthcode.yaml``,
``testing.yaml``, ...). This package is pure: it reads files and validates them, and never
touches the database or the clock. See ``docs/rulepacks.md``.
"""
