"""A few venues and people to scan, created in the test's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.orm import Session

from fangkong.registry.models import Person, Venue

LUSONG_PATH = "/43/4302/430203/"
NOW = datetime(2022, 11, 9, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Places:
    market: int
    clinic: int
    persons: list[int]


def make_places(session: Session, people: int = 6) -> Places:
    market = Venue(name="芦淞服装城", kind="market", area_path=LUSONG_PATH)
    clinic = Venue(name="社区卫生服务中心", kind="clinic", area_path=LUSONG_PATH)
    session.add_all([market, clinic])
    persons = [
        Person(
            area_path=LUSONG_PATH,
            document_type="resident_id",
            id_number_encrypted=f"enc-{n}",
            id_number_index=f"tracing-test-{n}",
            id_number_masked="4302**********0000",
            name=f"居民{n}",
            created_at=NOW,
            updated_at=NOW,
        )
        for n in range(people)
    ]
    session.add_all(persons)
    session.flush()
    return Places(market=market.id, clinic=clinic.id, persons=[p.id for p in persons])


def synthetic_scans(
    *, scans: int, persons: int, venues: int, days: int = 3, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scans with a skewed venue popularity (a few venues draw most visits, as markets and
    stations do): person ids, venue ids and epoch seconds."""
    rng = np.random.default_rng(seed)
    person_ids = rng.integers(1, persons + 1, size=scans)
    venue_ids = (np.floor(rng.random(scans) ** 2.0 * venues) + 1).astype(np.int64)
    start = int(NOW.timestamp()) - days * 86_400
    ts = start + rng.integers(0, days * 86_400, size=scans)
    return person_ids.astype(np.int64), venue_ids, ts.astype(np.int64)
