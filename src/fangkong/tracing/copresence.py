"""Contact finding at scale: the co-presence join, written once as an Ibis expression.

Given the exposure windows of cases (a case was at a venue from ``start_ts`` to ``end_ts``) and
the place scans of everyone, find each person who scanned at the same venue within the window
widened by a dwell allowance on both sides.

The join is *binned* (performance.md §2.1): time is cut into buckets of ``bin_seconds``; each
scan falls in one bucket, each widened window is expanded into every bucket it touches, and the
two meet on the equality ``(venue_id, bucket)``. An exact filter on the times then drops the
near misses. A plain ``venue_id`` join with a time-range filter compares every scan of a busy
venue with every case scan there; the buckets keep each comparison local in time, and the same
expression runs on every engine because it needs no range-join operator (Spark has none).

Tables (all times epoch seconds, UTC, whole seconds):

* scans: ``person_id``, ``venue_id``, ``ts`` (int64);
* exposures: ``case_person_id``, ``venue_id``, ``start_ts``, ``end_ts`` (int64).

The result has one row per (contact, case, venue) with the columns of
:class:`fangkong.tracing.rules.Contact`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from fangkong.core.errors import FangkongError
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.rules import DEFAULT_DWELL, Contact, Exposure, epoch_seconds

SCAN_SCHEMA = pa.schema([("person_id", pa.int64()), ("venue_id", pa.int64()), ("ts", pa.int64())])
EXPOSURE_SCHEMA = pa.schema(
    [
        ("case_person_id", pa.int64()),
        ("venue_id", pa.int64()),
        ("start_ts", pa.int64()),
        ("end_ts", pa.int64()),
    ]
)
CONTACT_COLUMNS = (
    "contact_person_id",
    "case_person_id",
    "venue_id",
    "overlap_start",
    "duration_seconds",
    "scans",
    "first_scan",
    "last_scan",
)


class JoinMethod(StrEnum):
    BINNED = "binned"  # the design: equi-join on (venue, time bucket), then an exact filter
    BAND = "band"  # the baseline: equi-join on venue with a time-range filter


def exposures_table(exposures: Iterable[Exposure]) -> pa.Table:
    """Exposure windows as an Arrow table; a window that ends before it starts is refused."""
    rows: dict[str, list[int]] = {name: [] for name in EXPOSURE_SCHEMA.names}
    for exposure in exposures:
        if exposure.end < exposure.start:
            raise FangkongError(
                TracingErrorCode.EXPOSURE_INVALID,
                "an exposure window cannot end before it starts",
                field="end",
            )
        rows["case_person_id"].append(exposure.case_person_id)
        rows["venue_id"].append(exposure.venue_id)
        rows["start_ts"].append(epoch_seconds(exposure.start))
        rows["end_ts"].append(epoch_seconds(exposure.end))
    return pa.table(rows, schema=EXPOSURE_SCHEMA)


def _windows(exposures: ir.Table, dwell_seconds: int) -> ir.Table:
    return exposures.select(
        case_person_id=exposures.case_person_id,
        w_venue_id=exposures.venue_id,
        start_ts=exposures.start_ts,
        end_ts=exposures.end_ts,
        low_ts=exposures.start_ts - dwell_seconds,
        high_ts=exposures.end_ts + dwell_seconds,
    )


def bins_spanned(backend: Any, exposures: ir.Table, *, dwell_seconds: int, bin_seconds: int) -> int:
    """The most buckets one widened window touches (the fan-out of the expansion), measured on
    ``backend`` with one small query over the exposures."""
    windows = _windows(exposures, dwell_seconds)
    span = (windows.high_ts // bin_seconds) - (windows.low_ts // bin_seconds) + 1
    result = backend.to_pyarrow(windows.aggregate(span=span.max()))
    value = result.column("span")[0].as_py()
    return 1 if value is None else int(value)


def _matches_binned(
    scans: ir.Table, exposures: ir.Table, *, dwell_seconds: int, bin_seconds: int, fan_out: int
) -> ir.Table:
    windows = _windows(exposures, dwell_seconds)
    windows = windows.mutate(first_bin=windows.low_ts // bin_seconds)
    # A window touching k buckets joins each of them: cross it with offsets 0..fan_out-1 and
    # keep the offsets inside the window. A plain table of integers works on every engine.
    offsets = ibis.memtable({"bin_offset": list(range(fan_out))})
    expanded = windows.cross_join(offsets)
    expanded = expanded.filter(
        expanded.first_bin + expanded.bin_offset <= expanded.high_ts // bin_seconds
    ).mutate(w_bin=expanded.first_bin + expanded.bin_offset)
    binned_scans = scans.select(
        scans.person_id, scans.venue_id, scans.ts, s_bin=scans.ts // bin_seconds
    )
    joined = binned_scans.join(
        expanded,
        [
            binned_scans.venue_id == expanded.w_venue_id,
            binned_scans.s_bin == expanded.w_bin,
        ],
    )
    return joined.filter(
        joined.ts >= joined.low_ts,
        joined.ts <= joined.high_ts,
        joined.person_id != joined.case_person_id,
    )


def _matches_band(scans: ir.Table, exposures: ir.Table, *, dwell_seconds: int) -> ir.Table:
    windows = _windows(exposures, dwell_seconds)
    joined = scans.join(
        windows,
        [
            scans.venue_id == windows.w_venue_id,
            scans.ts >= windows.low_ts,
            scans.ts <= windows.high_ts,
        ],
    )
    return joined.filter(joined.person_id != joined.case_person_id)


def contacts_expr(
    scans: ir.Table,
    exposures: ir.Table,
    *,
    dwell_seconds: int = int(DEFAULT_DWELL.total_seconds()),
    bin_seconds: int | None = None,
    method: JoinMethod = JoinMethod.BINNED,
    fan_out: int = 3,
) -> ir.Table:
    """The contacts of the cases in ``exposures``, one row per (contact, case, venue).

    ``bin_seconds`` defaults to the dwell allowance (a widened point exposure then touches two
    or three buckets). ``fan_out`` must be at least the most buckets one widened window
    touches (:func:`bins_spanned`); a smaller value would miss contacts late in long windows.
    """
    if method is JoinMethod.BINNED:
        matches = _matches_binned(
            scans,
            exposures,
            dwell_seconds=dwell_seconds,
            bin_seconds=bin_seconds or dwell_seconds,
            fan_out=fan_out,
        )
    else:
        matches = _matches_band(scans, exposures, dwell_seconds=dwell_seconds)
    # Each party is presumed present for the dwell allowance after their last known moment.
    begin = ibis.greatest(matches.ts, matches.start_ts)
    finish = ibis.least(matches.ts + dwell_seconds, matches.end_ts + dwell_seconds)
    matches = matches.mutate(overlap_begin=begin, overlap_seconds=ibis.greatest(finish - begin, 0))
    return matches.group_by(
        contact_person_id=matches.person_id,
        case_person_id=matches.case_person_id,
        venue_id=matches.w_venue_id,
    ).aggregate(
        overlap_start=matches.overlap_begin.min(),
        duration_seconds=matches.overlap_seconds.max(),
        scans=matches.ts.nunique(),
        first_scan=matches.ts.min(),
        last_scan=matches.ts.max(),
    )


def to_contacts(result: pa.Table) -> list[Contact]:
    """Rows of a :func:`contacts_expr` result as sorted :class:`Contact` values."""
    columns = [result.column(name).to_pylist() for name in CONTACT_COLUMNS]
    return sorted(Contact(*(int(value) for value in row)) for row in zip(*columns, strict=True))


def connect_duckdb(*, threads: int | None = None, memory_limit: str | None = None) -> Any:
    """An in-process DuckDB backend. Nothing is downloaded: Parquet and Arrow are built in."""
    con = ibis.duckdb.connect()
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    if memory_limit:
        con.raw_sql(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
    return con


def connect_pyspark(spark_session: Any) -> Any:
    """The PySpark backend over an existing Spark session (local mode or a cluster)."""
    return ibis.pyspark.connect(spark_session)


def find_contacts(
    *,
    backend: Any,
    scans: ir.Table,
    exposures: Iterable[Exposure] | ir.Table,
    dwell_seconds: int = int(DEFAULT_DWELL.total_seconds()),
    method: JoinMethod = JoinMethod.BINNED,
) -> list[Contact]:
    """Run the join on ``backend`` (the engine ``scans`` lives on) and return the contacts."""
    # A memtable, not a created table: the PySpark backend has no temporary tables, and the
    # exposures of a day's cases are small enough to ship with the query.
    exposure_table = (
        exposures if isinstance(exposures, ir.Table) else ibis.memtable(exposures_table(exposures))
    )
    fan_out = bins_spanned(
        backend, exposure_table, dwell_seconds=dwell_seconds, bin_seconds=dwell_seconds
    )
    expr = contacts_expr(
        scans, exposure_table, dwell_seconds=dwell_seconds, method=method, fan_out=fan_out
    )
    return to_contacts(backend.to_pyarrow(expr))
