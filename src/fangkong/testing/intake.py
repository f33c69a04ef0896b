"""The scan intake's writer: append scans to ``sampling_intake`` many rows per commit.

The fast lane (``testing/fast_views.py``) answers a sampler only after the row recording the
scan is committed. Committing each scan alone costs a disk flush per scan; instead one thread
with one database connection of its own (the driver's connection, not the ORM: the ORM's
per-row work costs more than the INSERT) takes every scan waiting in its queue, appends them in
one multi-row INSERT, commits, and then answers every waiting request in one hand-over to the
event loop. While it commits, the next scans queue up: the batch grows with the load, with no
fixed wait.

A resend (same sampler, same ``client_scan_id``) inserts nothing and is answered with the first
row's id. With ``group_commit=False`` (``FANGKONG_SAMPLING_GROUP_COMMIT=false``) every scan is
inserted and committed in its own transaction by a pool of threads: the benchmark's baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from fangkong.core.errors import FangkongError
from fangkong.testing.errors import TestingErrorCode

COLUMNS = (
    "user_id",
    "client_scan_id",
    "tube_barcode",
    "method",
    "person_ids",
    "id_lookup_keys",
    "scanned_at",
    "received_at",
)
MAX_BATCH = 2000
BASELINE_THREADS = 8


@dataclass(frozen=True, slots=True)
class IntakeRow:
    user_id: int
    client_scan_id: str
    tube_barcode: str
    method: str
    person_ids: tuple[int, ...]
    id_lookup_keys: tuple[str, ...]
    scanned_at: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Stored:
    """The acknowledgement: the intake row's id, and whether it was stored by an earlier send."""

    intake_id: int
    replayed: bool


_Item = tuple[IntakeRow, "asyncio.Future[Stored]", asyncio.AbstractEventLoop]


def _not_stored(error: BaseException) -> FangkongError:
    return FangkongError(
        TestingErrorCode.SCAN_NOT_STORED,
        f"the scan could not be stored ({type(error).__name__}); send it again",
        status=503,
    )


class _Backend:
    """One raw connection and the two statements the writer needs."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.kind = parsed.get_backend_name()
        if self.kind == "sqlite":
            self._path = parsed.database or ":memory:"
        else:
            self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: Any = None

    def connect(self) -> None:
        if self._conn is not None:
            return
        if self.kind == "sqlite":
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            # As the application's engine sets them (db/session.py): WAL with NORMAL sync
            # survives a killed process, the failure the acknowledgement promises to survive.
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
                conn.execute(f"PRAGMA {pragma}")
            self._conn = conn
        else:
            self._conn = psycopg.connect(self._dsn, autocommit=False)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def append(self, rows: Sequence[IntakeRow]) -> list[Stored]:
        """Insert ``rows`` (skipping resends) and commit; one ``Stored`` per row, in order."""
        self.connect()
        try:
            stored = self._append_sqlite(rows) if self.kind == "sqlite" else self._append_pg(rows)
        except BaseException:
            self.close()  # a broken connection is replaced on the next batch
            raise
        return stored

    def _append_pg(self, rows: Sequence[IntakeRow]) -> list[Stored]:
        placeholders = ",".join(["(%s,%s,%s,%s,%s::json,%s::json,%s,%s)"] * len(rows))
        params: list[Any] = []
        for row in rows:
            params += [
                row.user_id,
                row.client_scan_id,
                row.tube_barcode,
                row.method,
                json.dumps(row.person_ids),
                json.dumps(row.id_lookup_keys),
                row.scanned_at,
                row.received_at,
            ]
        with self._conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO sampling_intake ({','.join(COLUMNS)}) VALUES {placeholders} "  # noqa: S608 - placeholders only
                "ON CONFLICT (user_id, client_scan_id) DO NOTHING "
                "RETURNING id, user_id, client_scan_id",
                params,
            )
            new = {(user, cid): row_id for row_id, user, cid in cur.fetchall()}
            earlier: dict[tuple[int, str], int] = {}
            missing = [row for row in rows if (row.user_id, row.client_scan_id) not in new]
            if missing:
                cur.execute(
                    "SELECT id, user_id, client_scan_id FROM sampling_intake "
                    "WHERE user_id = ANY(%s) AND client_scan_id = ANY(%s)",
                    (
                        list({row.user_id for row in missing}),
                        list({row.client_scan_id for row in missing}),
                    ),
                )
                earlier = {(user, cid): row_id for row_id, user, cid in cur.fetchall()}
        self._conn.commit()
        return _answers(rows, new, earlier)

    def _append_sqlite(self, rows: Sequence[IntakeRow]) -> list[Stored]:
        conn: sqlite3.Connection = self._conn
        new: dict[tuple[int, str], int] = {}
        earlier: dict[tuple[int, str], int] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                key = (row.user_id, row.client_scan_id)
                if key in new:
                    continue
                found = conn.execute(
                    f"INSERT INTO sampling_intake ({','.join(COLUMNS)}) "  # noqa: S608 - fixed
                    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (user_id, client_scan_id) DO NOTHING "
                    "RETURNING id",
                    (
                        row.user_id,
                        row.client_scan_id,
                        row.tube_barcode,
                        row.method,
                        json.dumps(row.person_ids),
                        json.dumps(row.id_lookup_keys),
                        _sqlite_time(row.scanned_at),
                        _sqlite_time(row.received_at),
                    ),
                ).fetchone()
                if found is not None:
                    new[key] = found[0]
                    continue
                existing = conn.execute(
                    "SELECT id FROM sampling_intake WHERE user_id = ? AND client_scan_id = ?",
                    key,
                ).fetchone()
                earlier[key] = existing[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return _answers(rows, new, earlier)


def _sqlite_time(value: datetime | None) -> str | None:
    # The format SQLAlchemy stores (naive UTC, see db/base.py UTCDateTime) and reads back.
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _answers(
    rows: Sequence[IntakeRow],
    new: dict[tuple[int, str], int],
    earlier: dict[tuple[int, str], int],
) -> list[Stored]:
    answers: list[Stored] = []
    first_seen: set[tuple[int, str]] = set()
    for row in rows:
        key = (row.user_id, row.client_scan_id)
        if key in new and key not in first_seen:
            first_seen.add(key)
            answers.append(Stored(intake_id=new[key], replayed=False))
        else:
            answers.append(Stored(intake_id=new.get(key) or earlier[key], replayed=True))
    return answers


class IntakeWriter:
    """Appends intake rows for request handlers; ``await writer.append(row)`` returns once the
    row is committed (``scan_not_stored``, 503, when it could not be: the phone resends)."""

    def __init__(self, url: str, *, group_commit: bool = True, max_batch: int = MAX_BATCH) -> None:
        self.url = url
        self.group_commit = group_commit
        self._max_batch = max_batch if group_commit else 1
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.batches = 0
        self.rows = 0
        self.pending = 0  # rows handed over and not yet answered (the applier backs off)

    async def append(self, row: IntakeRow) -> Stored:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._ensure_threads()
        self.pending += 1
        self._queue.put((row, future, loop))
        try:
            return await future
        finally:
            self.pending -= 1

    def close(self) -> None:
        with self._lock:
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join(timeout=10)
            self._threads = []

    def _ensure_threads(self) -> None:
        if self._threads:
            return
        with self._lock:
            if self._threads:
                return
            count = 1 if self.group_commit else BASELINE_THREADS
            for number in range(count):
                thread = threading.Thread(
                    target=self._run, name=f"fangkong-intake-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _run(self) -> None:
        backend = _Backend(self.url)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # seen again after this batch: stop then
                        break
                    batch.append(item)
                self._store(backend, batch)
        finally:
            backend.close()

    def _store(self, backend: _Backend, batch: list[_Item]) -> None:
        results: list[Stored] | BaseException
        try:
            results = backend.append([row for row, _, _ in batch])
            self.batches += 1
            self.rows += len(batch)
        except Exception as error:  # every waiting request must be answered
            results = _not_stored(error)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Stored], Any]]] = {}
        for position, (_, future, loop) in enumerate(batch):
            outcome = results if isinstance(results, BaseException) else results[position]
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, answers in by_loop.items():
            # One wake-up of the event loop per batch, not one per scan.
            with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits
                loop.call_soon_threadsafe(_settle, answers)


def _settle(answers: list[tuple[asyncio.Future[Stored], Any]]) -> None:
    for future, outcome in answers:
        if future.done():  # the caller went away; its row is stored all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
