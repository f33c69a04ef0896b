"""The menu each role sees: an entry appears only when the actor holds its permission."""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor


@dataclass(frozen=True)
class MenuItem:
    label: str  # an English message id, translated when rendered
    href: str
    permission: str


MENU: tuple[MenuItem, ...] = (
    MenuItem("Home", "/", ""),
    MenuItem("My grid", "/my-grid", Permission.REGISTRY_EDIT),
    MenuItem("Areas", "/areas", Permission.REGISTRY_VIEW),
    MenuItem("Residents", "/persons", Permission.REGISTRY_VIEW),
    MenuItem("Import residents", "/registry/import", Permission.REGISTRY_IMPORT),
    MenuItem("Possible duplicates", "/registry/merges", Permission.REGISTRY_MERGE),
    MenuItem("Test rounds", "/testing", Permission.TESTING_VIEW),
    MenuItem("Testing alerts", "/testing/alerts", Permission.TESTING_VIEW),
    MenuItem("Re-sample orders", "/testing/resample-orders", Permission.TESTING_VIEW),
    MenuItem("Upload results", "/testing/results", Permission.TESTING_RESULTS),
    MenuItem("Audit log", "/audit", Permission.AUDIT_VIEW),
)


def menu_for(actor: Actor) -> list[MenuItem]:
    return [item for item in MENU if not item.permission or actor.can(item.permission)]
