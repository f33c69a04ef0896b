"""The ``fangkong`` command: one Typer app with a sub-app per domain."""

from __future__ import annotations

import typer

from fangkong.accounts.cli import app as users_app
from fangkong.areas.cli import app as risk_areas_app
from fangkong.command.cli import app as command_app
from fangkong.core.cli import audit_app, keys_app
from fangkong.db.cli import app as db_app
from fangkong.demo import app as demo_app
from fangkong.drill.cli import app as drill_app
from fangkong.enterprise.cli import app as enterprise_app
from fangkong.healthcode.cli import app as healthcode_app
from fangkong.isolation.cli import app as isolation_app
from fangkong.logistics.cli import app as logistics_app
from fangkong.registry.cli import app as areas_app
from fangkong.rulepacks.cli import app as packs_app
from fangkong.sim.city.cli import app as city_app
from fangkong.testing.cli import app as testing_app
from fangkong.tracing.cli import app as tracing_app
from fangkong.vaccination.cli import app as vaccination_app
from fangkong.web.cli import serve

app = typer.Typer(
    help="fangkong (防控): command platform for a city's epidemic response.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(areas_app, name="areas")
app.add_typer(risk_areas_app, name="risk-areas")
app.add_typer(isolation_app, name="isolation")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(testing_app, name="testing")
app.add_typer(healthcode_app, name="healthcode")
app.add_typer(command_app, name="command")
app.add_typer(packs_app, name="packs")

app.add_typer(city_app, name="city")

app.add_typer(tracing_app, name="tracing")

app.add_typer(enterprise_app, name="enterprise")
app.add_typer(logistics_app, name="logistics")
app.add_typer(vaccination_app, name="vaccination")
app.command("serve")(serve)
app.add_typer(demo_app, name="demo")
app.add_typer(drill_app, name="drill")
