"""Write a generated :class:`~fangkong.sim.city.generator.City` with the registry's bulk loader.

Rows are produced chunk by chunk from the columns, so a 4-million-person city never exists as
Python objects all at once. Encrypting identity numbers and phones runs in worker processes
(when an executor is given) one chunk ahead of the writes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.crypto import FieldCipher
from fangkong.core.errors import Conflict, FangkongError
from fangkong.registry import bulk
from fangkong.registry.enums import AreaLevel, DocumentType, PersonStatus
from fangkong.sim.city import people as people_module
from fangkong.sim.city.errors import CityErrorCode
from fangkong.sim.city.generator import City

PERSON_CHUNK = 50_000
GRID_WORKER_ROLE = "grid_worker"  # accounts.enums.Role.GRID_WORKER
# Grid-worker accounts are created locked: an administrator sets each password (argon2 hashing
# thousands of passwords would dominate the load, and shared default passwords are unsafe).
LOCKED_PASSWORD_HASH = "!"

Progress = Callable[[str, int, int], None]  # (phase, rows done in this call, rows in phase)


@dataclass
class Loaded:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    first_ids: dict[str, int] = field(default_factory=dict)


def city_exists(*, session: Session, city_code: str) -> bool:
    """True when generated (or hand-made) communities already exist under the city."""
    path = f"/{city_code[:2]}/{city_code}/"
    return (
        bulk.count_areas_at_level(session=session, level=AreaLevel.COMMUNITY, under_path=path) > 0
    )


def load_city(
    *,
    session: Session,
    city: City,
    cipher: FieldCipher,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> Loaded:
    """Write ``city`` in the session's transaction (the caller commits). Raises ``Conflict``
    (``sim.city_exists``) when the city already has communities and ``FangkongError``
    (``sim.divisions_missing``) when the division tree is not loaded."""
    report = progress or (lambda _phase, _done, _total: None)
    code = city.parameters.city_code
    if city_exists(session=session, city_code=code):
        raise Conflict(CityErrorCode.CITY_EXISTS, f"city {code} already has communities")
    places = city.places
    township_codes = [t.code for t in places.townships]
    township_ids = bulk.area_ids_by_code(session=session, codes=township_codes)
    if len(township_ids) != len(township_codes):
        raise FangkongError(
            CityErrorCode.DIVISIONS_MISSING,
            "load the division tree first (fangkong areas load-divisions)",
        )
    now = clock.now()
    stamp = bulk.timestamp(session=session, moment=now)
    loaded = Loaded()
    tables = (
        "area",
        "compound",
        "building",
        "household",
        "workplace",
        "venue",
        "person",
        "user_account",
    )
    base = {table: bulk.next_id(session=session, table=table) for table in tables}
    loaded.first_ids = dict(base)
    n_communities = len(places.community_code)
    community_ids = base["area"] + np.arange(n_communities)
    grid_ids = base["area"] + n_communities + np.arange(len(places.grid_code))
    community_paths = [places.community_path(i) for i in range(n_communities)]
    grid_paths = city.grid_paths
    grid_of_household = people_module.grid_of_households(places)

    def timed(
        table: str, rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]], total: int
    ) -> None:
        started = time.perf_counter()
        written = bulk.write_rows(session=session, table=table, rows=rows)
        loaded.counts[table] = loaded.counts.get(table, 0) + written
        loaded.seconds[table] = loaded.seconds.get(table, 0.0) + time.perf_counter() - started
        report(table, written, total)

    with bulk.bulk_settings(session=session):
        area_rows = [
            (int(community_ids[i]), places.community_code[i], places.community_name[i],
             AreaLevel.COMMUNITY.value, township_ids[places.townships[int(t)].code],
             community_paths[i])
            for i, t in enumerate(places.community_township.tolist())
        ] + [
            (int(grid_ids[g]), places.grid_code[g], places.grid_name[g], AreaLevel.GRID.value,
             int(community_ids[int(c)]), grid_paths[g])
            for g, c in enumerate(places.grid_community.tolist())
        ]  # fmt: skip
        timed("area", area_rows, len(area_rows))

        compound_community = places.grid_community[places.compound_grid]
        compound_rows = [
            (base["compound"] + i, int(community_ids[c]), name, community_paths[c], lat, lon)
            for i, (c, name, lat, lon) in enumerate(
                zip(compound_community.tolist(), places.compound_name,
                    places.compound_latitude.tolist(), places.compound_longitude.tolist(),
                    strict=True)
            )
        ]  # fmt: skip
        timed("compound", compound_rows, len(compound_rows))

        building_grid = places.compound_grid[places.building_compound]
        building_rows = [
            (base["building"] + i, base["compound"] + c, int(grid_ids[g]), grid_paths[g],
             f"{number}栋", units, floors, lat, lon)
            for i, (c, g, number, units, floors, lat, lon) in enumerate(
                zip(places.building_compound.tolist(), building_grid.tolist(),
                    places.building_number.tolist(), places.building_units.tolist(),
                    places.building_floors.tolist(), places.building_latitude.tolist(),
                    places.building_longitude.tolist(), strict=True)
            )
        ]  # fmt: skip
        timed("building", building_rows, len(building_rows))

        for table, sites in (("workplace", city.workplaces), ("venue", city.venues)):
            rows: list[tuple[Any, ...]] = []
            for i in range(len(sites)):
                path = community_paths[sites.community[i]]
                at = (sites.latitude[i], sites.longitude[i])
                if table == "workplace":
                    rows.append(
                        (
                            base[table] + i,
                            sites.name[i],
                            sites.kind[i],
                            sites.industry[i],
                            None,
                            path,
                            *at,
                        )
                    )
                else:
                    rows.append((base[table] + i, sites.name[i], sites.kind[i], path, *at))
            timed(table, rows, len(rows))

        with bulk.indexes_built_afterwards(
            session=session, tables=bulk.tables("household", "person")
        ):
            household_rows = (
                (base["household"] + i, base["building"] + b, unit, floor, str(room), grid_paths[g])
                for i, (b, unit, floor, room, g) in enumerate(
                    zip(places.household_building.tolist(), places.household_unit.tolist(),
                        places.household_floor.tolist(), places.household_room.tolist(),
                        grid_of_household.tolist(), strict=True)
                )
            )  # fmt: skip
            timed("household", household_rows, len(places.household_building))

            _load_people(
                session, city, cipher, executor, base, grid_paths, grid_of_household, stamp, timed
            )

        worker_rows = [
            (base["user_account"] + g, f"grid-{places.grid_code[g]}",
             f"{places.community_name[int(c)]}{places.grid_name[g]}网格员", GRID_WORKER_ROLE,
             LOCKED_PASSWORD_HASH, int(grid_ids[g]), grid_paths[g], None, None, True, stamp, None)
            for g, c in enumerate(places.grid_community.tolist())
        ]  # fmt: skip
        timed("user_account", worker_rows, len(worker_rows))
    bulk.finish(session=session, tables=tables)
    audit.record(
        session=session,
        actor=None,
        action="city.generate",
        subject_type="area",
        subject_id=code,
        after={
            "population": city.population,
            "seed": city.seed,
            "parameters": f"{city.parameters.id}@{city.parameters.version}",
            "rows": loaded.counts,
        },
        rule_ref="cli.operator",
        occurred_at=now,
    )
    return loaded


def _load_people(
    session: Session,
    city: City,
    cipher: FieldCipher,
    executor: Executor | None,
    base: dict[str, int],
    grid_paths: list[str],
    grid_of_household: np.ndarray[Any, Any],
    stamp: datetime | str,
    timed: Callable[[str, list[tuple[Any, ...]], int], None],
) -> None:
    people = city.people
    total = len(people)
    chunks = [
        slice(start, min(start + PERSON_CHUNK, total)) for start in range(0, total, PERSON_CHUNK)
    ]

    def identities(chunk: slice) -> tuple[list[str], list[str | None]]:
        ids = people_module.id_numbers(people.id_first_17[chunk])
        phones = [str(p) if p else None for p in people.phone[chunk].tolist()]
        return ids, phones

    pending: deque[Future[list[Any]]] = deque()
    ahead = 2 if executor is not None else 0

    def submit(index: int) -> None:
        if executor is not None and index < len(chunks):
            pending.append(
                executor.submit(bulk.protect_identities, cipher, *identities(chunks[index]))
            )

    for index in range(ahead):
        submit(index)
    birth_dates = (people_module.EPOCH + people.birth_day).astype(str)
    for index, chunk in enumerate(chunks):
        if executor is not None:
            protected = pending.popleft().result()
            submit(index + ahead)
        else:
            protected = bulk.protect_identities(cipher, *identities(chunk))
        names = people_module.full_names(people, chunk)
        household = people.household[chunk]
        paths = grid_of_household[household].tolist()
        workplaces = people.workplace[chunk].tolist()
        rows = [
            (base["person"] + chunk.start + k, base["household"] + h, grid_paths[g],
             DocumentType.RESIDENT_ID.value, *ident[:3], name, "M" if male else "F", born,
             *ident[3:], base["workplace"] + w if w >= 0 else None, tags,
             PersonStatus.ACTIVE.value, None, stamp, stamp)
            for k, (h, g, ident, name, male, born, w, tags) in enumerate(
                zip(household.tolist(), paths, protected, names, people.is_male[chunk].tolist(),
                    birth_dates[chunk].tolist(), workplaces, people.tags[chunk].tolist(),
                    strict=True)
            )
        ]  # fmt: skip
        timed("person", rows, total)
