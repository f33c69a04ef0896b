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
    MenuItem("Command centre", "/command", Permission.REPORTS_VIEW),
    MenuItem("Daily bulletins", "/command/bulletins", Permission.REPORTS_VIEW),
    MenuItem("Four lists", "/command/lists", Permission.REPORTS_VIEW),
    MenuItem("My grid", "/my-grid", Permission.REGISTRY_EDIT),
    MenuItem("Areas", "/areas", Permission.REGISTRY_VIEW),
    MenuItem("Residents", "/persons", Permission.REGISTRY_VIEW),
    MenuItem("Import residents", "/registry/import", Permission.REGISTRY_IMPORT),
    MenuItem("Possible duplicates", "/registry/merges", Permission.REGISTRY_MERGE),
    MenuItem("Isolation", "/isolation", Permission.ISOLATION_VIEW),
    MenuItem("Transfers", "/isolation/transfers", Permission.TRANSFER_EXECUTE),
    MenuItem("Daily check-in", "/isolation/checkin", Permission.SELF_SERVICE),
    MenuItem("Risk areas", "/risk-areas", Permission.AREAS_VIEW),
    MenuItem("Cases", "/cases", Permission.TRACING_VIEW),
    MenuItem("Contacts", "/contacts", Permission.TRACING_VIEW),
    MenuItem("Audit log", "/audit", Permission.AUDIT_VIEW),
)


def menu_for(actor: Actor) -> list[MenuItem]:
    return [item for item in MENU if not item.permission or actor.can(item.permission)]
