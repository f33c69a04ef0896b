from enum import StrEnum


class ListKind(StrEnum):
    """The four "should-all" lists (四应四尽)."""

    TEST = "test"  # 应检尽检: required in a test round, not sampled in it
    ISOLATE = "isolate"  # 应隔尽隔: identified contacts not yet handed to isolation
    ADMIT = "admit"  # 应收尽收: cases not yet admitted to a hospital or shelter hospital
    TREAT = "treat"  # 应治尽治: cases under treatment
