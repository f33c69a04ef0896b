"""The group-commit writer: many sampling scans per transaction, each answered only after the
transaction holding it committed (see :mod:`fangkong.testing.sampling` for the checks)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError

from sqlalchemy.orm import Session

from fangkong.core.errors import FangkongError
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.sampling import ScanInput, ScanOutcome, process_batch

DEFAULT_WINDOW = 0.002  # seconds the writer waits after the first scan for others to join
DEFAULT_MAX_BATCH = 1000


class ScanWriter:
    """Stores scans for request handlers, committing many in one transaction.

    ``submit`` hands a scan to the writer thread and returns a future that is resolved only
    after the scan's transaction committed (with its outcome) or failed (with its refusal, or
    ``scan_not_stored`` when the database could not be written: the phone must resend).
    With ``group_commit=False`` every scan is stored in its own transaction on the caller's
    thread: the baseline the benchmark compares against.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        *,
        group_commit: bool = True,
        window: float = DEFAULT_WINDOW,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._factory = session_factory
        self.group_commit = group_commit
        self._window = window
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[ScanInput, Future[ScanOutcome]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.scans = 0

    def submit(self, scan: ScanInput) -> Future[ScanOutcome]:
        future: Future[ScanOutcome] = Future()
        if not self.group_commit:
            self._store([(scan, future)])
            return future
        self._ensure_thread()
        self._queue.put((scan, future))
        return future

    async def store(self, scan: ScanInput) -> ScanOutcome:
        """Submit ``scan`` and wait (without blocking the event loop) until it is stored."""
        if not self.group_commit:
            return await asyncio.to_thread(lambda: self.submit(scan).result())
        return await asyncio.wrap_future(self.submit(scan))

    def close(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fangkong-scan-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self._window
            stop = False
            while len(batch) < self._max_batch:
                try:
                    remaining = deadline - time.monotonic()
                    item = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                self._store(batch)
            except Exception as error:  # the thread must outlive any failure
                for _, future in batch:
                    _settle(
                        future,
                        FangkongError(
                            TestingErrorCode.SCAN_NOT_STORED,
                            f"the scan could not be stored ({type(error).__name__}); scan again",
                            status=503,
                        ),
                    )
            if stop:
                return

    def _store(self, batch: Sequence[tuple[ScanInput, Future[ScanOutcome]]]) -> None:
        try:
            with self._factory() as session:
                outcomes = process_batch(session=session, scans=[scan for scan, _ in batch])
                session.commit()
        except Exception as error:  # every waiting request must be answered
            if len(batch) > 1:
                for item in batch:  # one scan that breaks the batch must not fail the others
                    self._store([item])
                return
            _, future = batch[0]
            if not isinstance(error, FangkongError):
                error = FangkongError(
                    TestingErrorCode.SCAN_NOT_STORED,
                    "the scan could not be stored; scan it again",
                    status=503,
                )
            _settle(future, error)
            return
        self.batches += 1
        self.scans += len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)


def _settle(future: Future[ScanOutcome], outcome: ScanOutcome | FangkongError) -> None:
    """Answer a waiting request; one whose caller went away (cancelled) is skipped, its scan
    stored all the same."""
    try:
        if isinstance(outcome, FangkongError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except InvalidStateError:
        pass
