from enum import StrEnum


class CaseStatus(StrEnum):
    """The person's own infection status, as the tracing domain knows it."""

    NONE = "none"
    SUSPECTED = "suspected"  # 疑似病例
    ASYMPTOMATIC = "asymptomatic"  # 无症状感染者
    CONFIRMED = "confirmed"  # 确诊病例
    RECOVERED = "recovered"  # discharged or released (出院/解除隔离)


class ContactKind(StrEnum):
    NONE = "none"
    CLOSE = "close"  # 密切接触者
    SECONDARY = "secondary"  # 密接的密接 (次密接)


class Supervision(StrEnum):
    """Which measure the isolation domain has the person under, if any."""

    NONE = "none"
    CENTRALISED_ISOLATION = "centralised_isolation"  # 集中隔离医学观察
    HOME_ISOLATION = "home_isolation"  # 居家隔离医学观察
    HEALTH_MONITORING = "health_monitoring"  # 居家/日常健康监测


class RiskLevel(StrEnum):
    """Risk level of an area (§3 of the protocols); NONE where no level is designated."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SampleResult(StrEnum):
    PENDING = "pending"
    NEGATIVE = "negative"
    POSITIVE = "positive"


class ExitKind(StrEnum):
    """Kinds of condition in "what would turn it green" (one per rule still holding)."""

    CASE_CLOSED = "case_closed"
    POOL_RECHECK_NEGATIVE = "pool_recheck_negative"
    CONTACT_RELEASED = "contact_released"
    SUPERVISION_ENDED = "supervision_ended"
    AREA_DOWNGRADED = "area_downgraded"
    TIME_ELAPSES = "time_elapses"
    TAKE_TEST = "take_test"
    NEGATIVE_TESTS = "negative_tests"
    KEY_POST_CLEARED = "key_post_cleared"
    OVERRIDE_ENDS = "override_ends"  # a code set by hand lasts until its expiry


class OverrideStatus(StrEnum):
    PENDING = "pending"  # waits for a second approver (red → clear)
    ACTIVE = "active"  # applies until its expiry
    REFUSED = "refused"  # the second approver said no
    REVOKED = "revoked"  # ended before its expiry


class AppealStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class AppealDecision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
