"""Running a coroutine to completion from a test, whatever the test worker's main thread is
doing: a browser test earlier in the same worker leaves Playwright's event loop running there,
where ``asyncio.run`` refuses to start another."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_apart(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)`` in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
