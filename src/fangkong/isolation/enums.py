from enum import StrEnum


class Category(StrEnum):
    """Why a person is isolated (the person classes of reference/protocols.md §2)."""

    CLOSE_CONTACT = "close_contact"
    SECONDARY_CONTACT = "secondary_contact"
    HIGH_AREA_STAY = "high_area_stay"  # stayed in a high-risk area within the window
    MEDIUM_AREA_STAY = "medium_area_stay"
    HIGH_AREA_SPILLOVER = "high_area_spillover"  # 高风险区外溢人员
    INBOUND_TRAVELLER = "inbound_traveller"
    MILD_CASE = "mild_case"  # asymptomatic or mild case isolating at home (cn-10)


class PhaseKind(StrEnum):
    CENTRALISED = "centralised"  # 集中隔离医学观察
    HOME_ISOLATION = "home_isolation"  # 居家隔离医学观察: may not go out
    HOME_MONITORING = "home_monitoring"  # 居家健康监测: no going out except e.g. medical visits


class Clock(StrEnum):
    """What day 1 of an order counts from."""

    LAST_EXPOSURE = "last_exposure"
    ORDER_START = "order_start"  # arrival, diagnosis or the order itself


class ReleaseOutcome(StrEnum):
    NOT_DUE = "not_due"  # the phase's end is not reached
    MISSING_TESTS = "missing_tests"
    POSITIVE = "positive"  # a required test was positive: hand over as a case
    NEXT_PHASE = "next_phase"
    RELEASED = "released"


class PlacementReason(StrEnum):
    PLACED = "placed"
    HOME_BY_RULE = "home_by_rule"  # the pack's first phase is at home
    BEDRIDDEN = "bedridden"
    DIALYSIS = "dialysis"
    INFANT = "infant"
    ACCOMPANIES_HOUSEHOLD = "accompanies_household"  # stays with a member who cannot be moved
    NO_CAPACITY = "no_capacity"


class FacilityStatus(StrEnum):
    IN_USE = "in_use"
    CLEANING = "cleaning"  # being cleaned and disinfected between groups
    RESERVE = "reserve"


class OrderStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    ENDED_EARLY = "ended_early"
    HANDED_OVER = "handed_over"  # became a case: tracing and treatment take over


class SampleResult(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"


class TransferKind(StrEnum):
    POSITIVE = "positive"  # an infected person, to a hospital or shelter hospital
    CONTACT = "contact"  # a contact, to an isolation facility


class DestinationKind(StrEnum):
    HOSPITAL = "hospital"  # 定点医院
    SHELTER_HOSPITAL = "shelter_hospital"  # 方舱医院
    FACILITY = "facility"  # 集中隔离点 (a facility of this platform)


class TransferStatus(StrEnum):
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    PICKED_UP = "picked_up"
    CHECKED_IN = "checked_in"  # arrived and checked in at the destination: closed


class Symptom(StrEnum):
    """Symptoms a home check-in may report (any of them flags the person for follow-up)."""

    FEVER = "fever"
    COUGH = "cough"
    SORE_THROAT = "sore_throat"
    FATIGUE = "fatigue"
    LOSS_OF_SMELL_OR_TASTE = "loss_of_smell_or_taste"
    SHORTNESS_OF_BREATH = "shortness_of_breath"
    DIARRHOEA = "diarrhoea"


class ContactKind(StrEnum):
    """The contact classes tracing hands over (密接 / 次密接)."""

    CLOSE = "close"
    SECONDARY = "secondary"
