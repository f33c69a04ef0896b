from enum import StrEnum


class ScanSource(StrEnum):
    """How a place scan reached us."""

    APP = "app"  # a person scanned the venue's place code (场所码) with the app
    IMPORT = "import"  # a venue's or a partner system's scan log, loaded in bulk
