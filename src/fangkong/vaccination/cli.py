"""``fangkong vaccination``: the product table imports are checked against."""

from __future__ import annotations

import typer

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
