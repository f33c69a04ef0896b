"""Whether the drill takes its fast paths, for the benchmark's baseline.

The drill writes mass rounds of more than ``SERVICE_TUBES_MAX`` tubes in bulk and, on SQLite,
the day's place-code scans in one ``executemany`` (``fangkong.drill.platform.sampling``).
``naive()`` turns both off for a while, so that ``bench/bench_drill.py`` can time the same drill
through the per-call services (every tube opened, filled and sealed by the testing service;
every scan checked and stored by ``tracing.service.record_scans``) in the same process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_fast = [True]


def fast() -> bool:
    return _fast[0]


@contextmanager
def naive() -> Iterator[None]:
    _fast[0] = False
    try:
        yield
    finally:
        _fast[0] = True
