"""Users, roles, permissions, jurisdictions, sessions and API tokens."""
