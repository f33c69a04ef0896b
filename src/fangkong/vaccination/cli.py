"""``fangkong vaccination``: the product table imports are checked against, and the rebuild of
every resident's vaccination level from the dose table."""

from __future__ import annotations

import typer

from fangkong.db.session import session_scope
from fangkong.vaccination import levels
from fangkong.vaccination.products import PRODUCTS

app = typer.Typer(help="Vaccination records.", no_args_is_help=True)


@app.command("products")
def products() -> None:
    """The vaccines accepted on import: CVX code, doses in the primary course, first use."""
    for product in PRODUCTS:
        typer.echo(
            f"{product.cvx}\t{product.primary_doses}\t{product.available_from}\t"
            f"{product.name_en}\t{'/'.join(product.names_zh)}"
        )


@app.command("rebuild-levels")
def rebuild_levels() -> None:
    """Recompute every resident's vaccination level from the dose records (after loading doses
    in bulk outside the import, or after a product's course length changed)."""
    with session_scope() as session:
        changed = levels.rebuild(session=session)
    typer.echo(f"{changed} residents' levels changed")
