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
    MenuItem("My health code", "/my-code", Permission.SELF_SERVICE),
    MenuItem("Code check", "/checkpoint", Permission.HEALTHCODE_VERIFY),
    MenuItem("Code overrides", "/healthcode/overrides", Permission.HEALTHCODE_APPROVE),
    MenuItem("Code appeals", "/healthcode/appeals", Permission.HEALTHCODE_APPEAL_REVIEW),
    MenuItem("Unexplained codes", "/healthcode/unexplained", Permission.HEALTHCODE_APPROVE),
    MenuItem("Audit log", "/audit", Permission.AUDIT_VIEW),
)


def menu_for(actor: Actor) -> list[MenuItem]:
    return [item for item in MENU if not item.permission or actor.can(item.permission)]
