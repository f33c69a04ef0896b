"""The daily job of the command centre: compute the day's figures and write the bulletin."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from fangkong.command import service
from fangkong.command.models import Bulletin
from fangkong.config import get_settings
from fangkong.core import clock


def run_daily_bulletin(*, session: Session, day: date) -> list[Bulletin]:
    """Figures and bulletins for ``day`` for every city, at the configured cut-off hour
    (idempotent: running it again rewrites the same rows with the same figures)."""
    settings = get_settings()
    return service.generate_bulletins(
        session=session,
        actor=None,
        day=day,
        now=clock.now(),
        cutoff_hour=settings.bulletin_cutoff_hour,
        timezone=settings.timezone,
    )
