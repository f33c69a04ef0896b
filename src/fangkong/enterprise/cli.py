"""``fangkong enterprise``: the scheduler's entry point for tickets, and a credit-code check."""

from __future__ import annotations

import typer

from fangkong.core import clock
from fangkong.db.session import session_scope
from fangkong.enterprise import rules, tickets

app = typer.Typer(help="Work resumption: tickets and credit codes.", no_args_is_help=True)


@app.command("escalate-tickets")
def escalate_tickets() -> None:
    """Escalate every overdue problem ticket (run it from cron or a timer, e.g. hourly)."""
    with session_scope() as session:
        moved = tickets.escalate_overdue(session=session, now=clock.now())
    typer.echo(f"{moved} tickets escalated")


@app.command("check-credit-code")
def check_credit_code(code: str) -> None:
    """Check a unified social credit code (GB 32100-2015); exit 1 when it is not valid."""
    normalised = rules.normalise_credit_code(code)
    if not rules.is_valid_credit_code(normalised):
        typer.echo(f"{normalised}: not valid")
        raise typer.Exit(1)
    typer.echo(f"{normalised}: valid")
