from enum import StrEnum


class ApplicationStatus(StrEnum):
    """A resumption application's life: submitted → approved / refused, or sent back for changes
    (changes_requested → submitted again)."""

    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REFUSED = "refused"


class PassKind(StrEnum):
    WHITELIST = "whitelist"  # 白名单卡: one member of an approved enterprise's staff
    FREIGHT = "freight"  # 货车通行证: one vehicle, its driver and its route


class PassStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class HealthColour(StrEnum):
    """The health-code colour the checkpoint read from the person's code, supplied by the caller
    (the health-code domain owns how it is computed)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class TicketStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    CLOSED = "closed"


class TicketCategory(StrEnum):
    LOGISTICS = "logistics"  # raw materials in, products out
    STAFF = "staff"  # staff stuck in controlled areas, commuting
    SUPPLIES = "supplies"  # masks, antigen kits
    TESTING = "testing"  # on-site sampling
    FINANCE = "finance"
    OTHER = "other"


class Department(StrEnum):
    """Who owns a problem ticket."""

    INDUSTRY = "industry"  # 工信局
    TRANSPORT = "transport"  # 交通运输局
    COMMERCE = "commerce"  # 商务局
    HEALTH = "health"  # 卫健委
    HUMAN_RESOURCES = "human_resources"  # 人社局
    FINANCE = "finance"  # 财政局


class StatisticsGrouping(StrEnum):
    PARK = "park"
    INDUSTRY = "industry"
    SIZE = "size"
