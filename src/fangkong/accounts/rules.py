"""Which role may do what: pure data and functions, no database.

Permissions are granted per role rather than per user so that an audit can answer "who could
have done this" from the role alone.
"""

from __future__ import annotations

from fangkong.accounts.enums import JurisdictionKind, Permission, Role

P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COMMAND_CENTRE: frozenset(
        {
            P.REGISTRY_VIEW,
            P.TESTING_VIEW,
            P.TESTING_ORGANISE,
            P.HEALTHCODE_VIEW,
            P.HEALTHCODE_APPROVE,
            P.TRACING_VIEW,
            P.ISOLATION_VIEW,
            P.AREAS_VIEW,
            P.AREAS_DESIGNATE,
            P.VACCINATION_VIEW,
            P.REPORTS_VIEW,
            P.REPORTS_EXPORT,
            P.LOGISTICS_MANAGE,
            P.AUDIT_VIEW,
        }
    ),
    Role.DISTRICT_OFFICER: frozenset(
        {
            P.REGISTRY_VIEW,
            P.REGISTRY_EDIT,
            P.REGISTRY_IMPORT,
            P.REGISTRY_MERGE,
            P.TESTING_VIEW,
            P.TESTING_ORGANISE,
            P.HEALTHCODE_VIEW,
            P.HEALTHCODE_OVERRIDE,
            P.HEALTHCODE_APPROVE,
            P.HEALTHCODE_APPEAL_REVIEW,
            P.TRACING_VIEW,
            P.ISOLATION_VIEW,
            P.ISOLATION_MANAGE,
            P.AREAS_VIEW,
            P.AREAS_DESIGNATE,
            P.VACCINATION_VIEW,
            # District health commissions collect the vaccination sites' dose records.
            P.VACCINATION_RECORD,
            P.REPORTS_VIEW,
            P.REPORTS_EXPORT,
            P.LOGISTICS_MANAGE,
        }
    ),
    Role.GRID_WORKER: frozenset(
        {
            P.REGISTRY_VIEW,
            P.REGISTRY_EDIT,
            P.REGISTRY_IMPORT,
            P.TESTING_VIEW,
            P.HEALTHCODE_VIEW,
            P.ISOLATION_VIEW,
            P.AREAS_VIEW,
            P.VACCINATION_VIEW,
            P.LOGISTICS_MANAGE,
            P.REPORTS_EXPORT,
        }
    ),
    Role.SAMPLER: frozenset({P.TESTING_SAMPLE}),
    Role.LABORATORY: frozenset({P.TESTING_RESULTS}),
    Role.EPIDEMIOLOGIST: frozenset(
        {
            P.REGISTRY_VIEW,
            P.REGISTRY_VIEW_IDENTITY,
            P.TESTING_VIEW,
            P.HEALTHCODE_VIEW,
            P.TRACING_VIEW,
            P.TRACING_INVESTIGATE,
            P.ISOLATION_VIEW,
            P.AREAS_VIEW,
            P.REPORTS_VIEW,
            P.REPORTS_EXPORT,
        }
    ),
    Role.ISOLATION_MANAGER: frozenset(
        {
            P.REGISTRY_VIEW,
            P.ISOLATION_VIEW,
            P.ISOLATION_MANAGE,
            P.TESTING_VIEW,
            P.REPORTS_EXPORT,
        }
    ),
    Role.TRANSFER_TEAM: frozenset({P.TRANSFER_EXECUTE, P.ISOLATION_VIEW}),
    Role.INDUSTRY_BUREAU: frozenset({P.ENTERPRISE_REVIEW, P.REPORTS_VIEW, P.REPORTS_EXPORT}),
    Role.ENTERPRISE: frozenset({P.ENTERPRISE_APPLY}),
    Role.VOLUNTEER: frozenset({P.LOGISTICS_CLAIM}),
    # Checkpoint and venue staff scan people's codes at the door; a venue's or partner's gateway
    # sends scans with an API token of a checkpoint service account (docs/tracing.md).
    Role.CHECKPOINT: frozenset({P.HEALTHCODE_VERIFY, P.TRACING_RECORD_SCANS}),
    Role.RESIDENT: frozenset({P.SELF_SERVICE}),
    Role.ADMINISTRATOR: frozenset(
        {
            P.ACCOUNTS_MANAGE,
            P.RULES_MANAGE,
            P.AUDIT_VIEW,
            P.REGISTRY_VIEW,
            P.REPORTS_VIEW,
        }
    ),
}

# Residents see themselves and their household; everyone else sees an area subtree.
SELF_JURISDICTION_ROLES = frozenset({Role.RESIDENT})


def permissions_for(role: Role) -> frozenset[str]:
    return frozenset(str(permission) for permission in ROLE_PERMISSIONS[role])


def jurisdiction_kind(role: Role) -> JurisdictionKind:
    return JurisdictionKind.SELF if role in SELF_JURISDICTION_ROLES else JurisdictionKind.AREA


def is_throttled(*, recent_failures: int, max_failures: int) -> bool:
    """Whether a login is refused before the password is even checked."""
    return recent_failures >= max_failures
