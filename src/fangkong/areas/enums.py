from enum import StrEnum


class RiskLevel(StrEnum):
    """Risk levels, most severe first. A pack names the subset it uses (cn-20: high, low)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NORMAL = "normal"  # 常态化防控: no risk area


class DesignationStatus(StrEnum):
    PROPOSED = "proposed"  # drawn by the rules or an officer, not yet in force
    CONFIRMED = "confirmed"  # in force: residents' codes and pool sizes follow it
    LIFTED = "lifted"


class TargetKind(StrEnum):
    """What a designation covers: an area subtree (village, community, district, city) or a
    place of the registry (a compound, a building, one unit (单元) of a building)."""

    AREA = "area"
    COMPOUND = "compound"
    BUILDING = "building"
    UNIT = "unit"


class Scope(StrEnum):
    """Which designations a lifting rule applies to: places (compound, building, unit,
    household, village) or whole districts or the city."""

    PLACE = "place"
    DISTRICT = "district"
    CITY = "city"


class Basis(StrEnum):
    """Why a place is proposed: a case lives there, or spent time there."""

    RESIDENCE = "residence"
    FREQUENT_PLACE = "frequent_place"  # work or activity place visited often, higher risk
    ACTIVITY_PLACE = "activity_place"  # stayed some time, possible transmission


class DrawUnit(StrEnum):
    """The unit a pack draws a designation by, coarsest first."""

    COMPOUND = "compound"
    BUILDING = "building"
    UNIT = "unit"
