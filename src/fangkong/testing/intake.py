"""The scan intake's writer: append scans to ``sampling_intake`` many rows per commit.

The fast lane (``testing/fast_views.py``) answers a sampler only after the row recording the
scan is committed. Committing each scan alone costs a disk flush per scan; instead one thread
with one database connection of its own (the driver's connection, not the ORM: the ORM's
per-row work costs more than the INSERT) takes every scan that gathered on the event loop,
appends them in one INSERT, commits, and then answers every waiting request in one hand-over to
the event loop. While it commits, the next scans gather: the batch grows with the load, with no
fixed wait. Each server process (``fangkong serve --workers N``) has its own writer and
connection; a resend that reaches another process is still stored once, by the table's unique
``(user_id, client_scan_id)``.

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
_PG_INSERT = (
    f"INSERT INTO sampling_intake ({','.join(COLUMNS)}) "  # noqa: S608 - fixed column names
    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]::json[],"
    " %s::text[]::json[], %s::timestamptz[], %s::timestamptz[]) "
    "ON CONFLICT (user_id, client_scan_id) DO NOTHING RETURNING id, user_id, client_scan_id"
)


def _json_ints(values: tuple[int, ...]) -> str:
    # A list of ints as JSON, without the encoder's per-call set-up (the intake's common case).
    return f"[{','.join(map(str, values))}]"


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


_Item = tuple[IntakeRow, "asyncio.Future[Stored]"]
_Batch = tuple[asyncio.AbstractEventLoop, list[_Item]]


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
        # One array per column and ``unnest``: the statement's text is the same for every batch
        # size, so the driver prepares it once (a VALUES list with a placeholder per value made
        # the driver parse a statement of up to 16,000 placeholders for every batch).
        with self._conn.cursor() as cur:
            cur.execute(
                _PG_INSERT,
                (
                    [row.user_id for row in rows],
                    [row.client_scan_id for row in rows],
                    [row.tube_barcode for row in rows],
                    [row.method for row in rows],
                    [_json_ints(row.person_ids) for row in rows],
                    [json.dumps(row.id_lookup_keys) for row in rows],
                    [row.scanned_at for row in rows],
                    [row.received_at for row in rows],
                ),
                prepare=True,
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
    row is committed (``scan_not_stored``, 503, when it could not be: the phone resends).

    The scans an event loop hands over wait in a list on that loop; while one of its batches is
    being committed the next one gathers there, and is handed to the writer thread in one piece
    when the commit is answered. So the loop and the thread meet twice a batch (hand-over and
    answer), not once a scan: a per-scan queue put wakes the sleeping thread, which then
    contends for the interpreter lock with the loop that is parsing the next requests.
    """

    def __init__(self, url: str, *, group_commit: bool = True, max_batch: int = MAX_BATCH) -> None:
        self.url = url
        self.group_commit = group_commit
        self._max_batch = max_batch if group_commit else 1
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # Per event loop, touched only from that loop: the scans not yet handed over, and
        # whether one of its batches is with the thread.
        self._waiting: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        self._in_flight: set[asyncio.AbstractEventLoop] = set()
        self.batches = 0
        self.rows = 0
        self.pending = 0  # rows handed over and not yet answered (the applier backs off)

    async def append(self, row: IntakeRow) -> Stored:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._ensure_threads()
        self.pending += 1
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = []
        waiting.append((row, future))
        if not self.group_commit or loop not in self._in_flight:
            self._hand_over(loop)
        try:
            return await future
        finally:
            self.pending -= 1

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every scan this event loop handed over has been answered (at most
        ``timeout`` seconds: a stopping server must not hang on a database that is gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._waiting.get(loop) or loop in self._in_flight) and loop.time() < deadline:
            await asyncio.sleep(0.005)

    def close(self) -> None:
        """Stop the thread(s) once the batches handed over are committed (call ``drain`` first
        from the event loop so that nothing is left waiting on the loop's side)."""
        with self._lock:
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join(timeout=10)
            self._threads = []

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._waiting.get(loop)
        if not waiting:
            return
        if len(waiting) > self._max_batch:
            batch, self._waiting[loop] = waiting[: self._max_batch], waiting[self._max_batch :]
        else:
            batch = waiting
            del self._waiting[loop]
        if self.group_commit:
            self._in_flight.add(loop)
        self._queue.put((loop, batch))

    def _answered(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Item], results: list[Stored] | Exception
    ) -> None:
        # On the loop: settle the batch's futures, then hand over what gathered meanwhile.
        for position, (_, future) in enumerate(batch):
            if future.done():  # the caller went away; its row is stored all the same
                continue
            if isinstance(results, Exception):
                future.set_exception(results)
            else:
                future.set_result(results[position])
        if self.group_commit:
            self._in_flight.discard(loop)
            self._hand_over(loop)

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
                handed = self._queue.get()
                if handed is None:
                    return
                self._store(backend, *handed)
        finally:
            backend.close()

    def _store(
        self, backend: _Backend, loop: asyncio.AbstractEventLoop, batch: list[_Item]
    ) -> None:
        results: list[Stored] | Exception
        try:
            results = backend.append([row for row, _ in batch])
            self.batches += 1
            self.rows += len(batch)
        except Exception as error:  # every waiting request must be answered
            results = _not_stored(error)
        with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits
            loop.call_soon_threadsafe(self._answered, loop, batch, results)
