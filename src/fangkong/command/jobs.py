"""The jobs of the command centre: the day's figures and bulletin, and the dashboard's
snapshots of the population-wide panels."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from fangkong.command import service, snapshots
from fangkong.command.models import AreaSnapshot, Bulletin
from fangkong.config import get_settings
from fangkong.core import clock


def run_daily_bulletin(*, session: Session, day: date) -> list[Bulletin]:
    """Figures and bulletins for ``day`` for every city, at the configured cut-off hour
    (idempotent: running it again rewrites the same rows with the same figures)."""
    settings = get_settings()
    refresh_snapshots(session=session)
    return service.generate_bulletins(
        session=session,
        actor=None,
        day=day,
        now=clock.now(),
        cutoff_hour=settings.bulletin_cutoff_hour,
        timezone=settings.timezone,
    )


def refresh_snapshots(*, session: Session) -> list[AreaSnapshot]:
    """Recount the dashboard's population-wide panels of the city and every district (run by
    the daily job, and from cron as often as the dashboard should follow them)."""
    return snapshots.refresh(session=session, now=clock.now())
