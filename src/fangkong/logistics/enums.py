from enum import StrEnum


class SupplyKind(StrEnum):
    FOOD = "food"
    MEDICINE = "medicine"
    FORMULA = "formula"  # infant formula
    MEDICAL_CARE = "medical_care"  # a trip to care: dialysis, pregnancy check-up, …


class MedicalNeed(StrEnum):
    DIALYSIS = "dialysis"
    PREGNANCY_CHECK = "pregnancy_check"
    CHRONIC_MEDICINE = "chronic_medicine"
    OTHER = "other"


class RequestStatus(StrEnum):
    OPEN = "open"  # waiting to be put on a delivery task
    TASKED = "tasked"
    DELIVERED = "delivered"


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"


class VolunteerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Availability(StrEnum):
    MORNINGS = "mornings"
    AFTERNOONS = "afternoons"
    EVENINGS = "evenings"
    FULL_DAY = "full_day"
