from enum import StrEnum


class Role(StrEnum):
    """The people who use the platform (see DESIGN.md, "Who uses it")."""

    COMMAND_CENTRE = "command_centre"
    DISTRICT_OFFICER = "district_officer"
    GRID_WORKER = "grid_worker"
    SAMPLER = "sampler"
    LABORATORY = "laboratory"
    EPIDEMIOLOGIST = "epidemiologist"
    ISOLATION_MANAGER = "isolation_manager"
    TRANSFER_TEAM = "transfer_team"
    INDUSTRY_BUREAU = "industry_bureau"
    ENTERPRISE = "enterprise"
    VOLUNTEER = "volunteer"
    CHECKPOINT = "checkpoint"
    RESIDENT = "resident"
    ADMINISTRATOR = "administrator"


class Permission(StrEnum):
    """What a role may do. A permission names a domain and an ability."""

    REGISTRY_VIEW = "registry.view"
    REGISTRY_EDIT = "registry.edit"
    REGISTRY_IMPORT = "registry.import"
    REGISTRY_VIEW_IDENTITY = "registry.view_identity"
    REGISTRY_MERGE = "registry.merge"
    TESTING_ORGANISE = "testing.organise"
    TESTING_SAMPLE = "testing.sample"
    TESTING_RESULTS = "testing.results"
    TESTING_VIEW = "testing.view"
    HEALTHCODE_VIEW = "healthcode.view"
    HEALTHCODE_OVERRIDE = "healthcode.override"
    HEALTHCODE_APPROVE = "healthcode.approve"
    HEALTHCODE_VERIFY = "healthcode.verify"
    HEALTHCODE_APPEAL_REVIEW = "healthcode.appeal_review"
    TRACING_INVESTIGATE = "tracing.investigate"
    TRACING_VIEW = "tracing.view"
    TRACING_RECORD_SCANS = "tracing.record_scans"
    ISOLATION_MANAGE = "isolation.manage"
    ISOLATION_VIEW = "isolation.view"
    TRANSFER_EXECUTE = "transfer.execute"
    AREAS_DESIGNATE = "areas.designate"
    AREAS_VIEW = "areas.view"
    ENTERPRISE_REVIEW = "enterprise.review"
    ENTERPRISE_APPLY = "enterprise.apply"
    LOGISTICS_MANAGE = "logistics.manage"
    LOGISTICS_CLAIM = "logistics.claim"
    VACCINATION_RECORD = "vaccination.record"
    VACCINATION_VIEW = "vaccination.view"
    REPORTS_VIEW = "reports.view"
    REPORTS_EXPORT = "reports.export"
    SELF_SERVICE = "self.service"
    ACCOUNTS_MANAGE = "accounts.manage"
    RULES_MANAGE = "rules.manage"
    AUDIT_VIEW = "audit.view"


class JurisdictionKind(StrEnum):
    AREA = "area"
    SELF = "self"
