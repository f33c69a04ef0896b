"""``fangkong packs``: list the rule packs and check a folder of packs before installing it."""

from __future__ import annotations

from pathlib import Path

import typer

from fangkong.packs import SECTION_SCHEMAS
from fangkong.rulepacks.catalog import PACKS_DIR, load_catalog
from fangkong.rulepacks.errors import RulePackError

app = typer.Typer(help="Rule packs: versioned policy rules.", no_args_is_help=True)


@app.command("list")
def list_packs(
    root: Path = typer.Option(PACKS_DIR, help="Folder holding the pack folders."),
) -> None:
    """One line per pack version: series, window, lineage and rules per section."""
    catalog = load_catalog(root, schemas=SECTION_SCHEMAS, strict=True)
    for pack in sorted(
        catalog.packs.values(), key=lambda p: (p.manifest.series, p.manifest.effective_from)
    ):
        manifest = pack.manifest
        until = manifest.effective_until.isoformat() if manifest.effective_until else "…"
        sections = ", ".join(
            f"{name}={len(pack.rule_ids(name))}" for name in sorted(pack.raw_sections)
        )
        typer.echo(
            f"{manifest.ref}  series={manifest.series}  "
            f"{manifest.effective_from.isoformat()} → {until}  "
            f"lineage={' > '.join(pack.lineage)}  rules: {sections}"
        )


@app.command("check")
def check(root: Path = typer.Option(PACKS_DIR, help="Folder holding the pack folders.")) -> None:
    """Validate every pack under ``root``; exit status 1 with the refusal if one is bad."""
    try:
        catalog = load_catalog(root, schemas=SECTION_SCHEMAS, strict=True)
    except RulePackError as refused:
        typer.echo(f"{refused.code}: {refused.message} [{refused.field}]", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(catalog.packs)} pack versions valid")
