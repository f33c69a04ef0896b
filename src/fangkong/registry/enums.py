from enum import StrEnum


class AreaLevel(StrEnum):
    """Levels of the area tree, from the province down to the grid cell (网格)."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    COMMUNITY = "community"
    GRID = "grid"


LEVEL_DEPTH = {level: depth for depth, level in enumerate(AreaLevel)}
