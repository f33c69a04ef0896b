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
    MenuItem("Schematic map", "/command/map", Permission.REPORTS_VIEW),
    MenuItem("Work ledger", "/command/ledger", Permission.REPORTS_VIEW),
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
    MenuItem("Sampling", "/sampling", Permission.TESTING_SAMPLE),
    MenuItem("Codes and tube labels", "/sampling/labels", Permission.TESTING_VIEW),
    MenuItem("Enterprises", "/enterprise", Permission.ENTERPRISE_REVIEW),
    MenuItem("My enterprise", "/enterprise", Permission.ENTERPRISE_APPLY),
    MenuItem("Resumption reviews", "/enterprise/reviews", Permission.ENTERPRISE_REVIEW),
    MenuItem("Resumption statistics", "/enterprise/statistics", Permission.ENTERPRISE_REVIEW),
    MenuItem("Problem tickets", "/enterprise/tickets", Permission.ENTERPRISE_REVIEW),
    MenuItem("Pass check", "/enterprise/checkpoint", Permission.HEALTHCODE_VERIFY),
    MenuItem("Supply requests", "/logistics/requests", Permission.LOGISTICS_MANAGE),
    MenuItem("Ask for supplies", "/logistics/requests", Permission.SELF_SERVICE),
    MenuItem("Task board", "/logistics/board", Permission.LOGISTICS_CLAIM),
    MenuItem("Vaccination coverage", "/vaccination/coverage", Permission.VACCINATION_VIEW),
    MenuItem("Unvaccinated elderly", "/vaccination/unvaccinated", Permission.VACCINATION_VIEW),
    MenuItem("Import doses", "/vaccination/import", Permission.VACCINATION_RECORD),
    MenuItem("My health code", "/my-code", Permission.SELF_SERVICE),
    MenuItem("Self-check", "/self-check", Permission.SELF_SERVICE),
    MenuItem("Code check", "/checkpoint", Permission.HEALTHCODE_VERIFY),
    MenuItem("Code overrides", "/healthcode/overrides", Permission.HEALTHCODE_APPROVE),
    MenuItem("Code appeals", "/healthcode/appeals", Permission.HEALTHCODE_APPEAL_REVIEW),
    MenuItem("Unexplained codes", "/healthcode/unexplained", Permission.HEALTHCODE_APPROVE),
    MenuItem("Test rounds", "/testing", Permission.TESTING_VIEW),
    MenuItem("Testing alerts", "/testing/alerts", Permission.TESTING_VIEW),
    MenuItem("Re-sample orders", "/testing/resample-orders", Permission.TESTING_VIEW),
    MenuItem("Upload results", "/testing/results", Permission.TESTING_RESULTS),
    MenuItem("Audit log", "/audit", Permission.AUDIT_VIEW),
)


def menu_for(actor: Actor) -> list[MenuItem]:
    return [item for item in MENU if not item.permission or actor.can(item.permission)]
