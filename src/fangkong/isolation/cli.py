"""``fangkong isolation``: the overdue-transfer job."""

from __future__ import annotations

import typer

from fangkong.db.session import session_scope
from fangkong.isolation import jobs

app = typer.Typer(help="Isolation and transfer (隔离 / 转运): jobs.", no_args_is_help=True)


@app.command("escalate-transfers")
def escalate_transfers() -> None:
    """Raise every open transfer past its deadline on the command dashboard, once each
    (idempotent: a second run escalates nothing new)."""
    with session_scope() as session:
        escalated = jobs.escalate_overdue_transfers(session=session)
    listed = ", ".join(str(task_id) for task_id in escalated)
    typer.echo(f"{len(escalated)} overdue transfers escalated" + (f": {listed}" if listed else ""))
