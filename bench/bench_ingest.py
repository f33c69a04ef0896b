"""Storing a lab's result file: the chunked ``INSERT … ON CONFLICT DO NOTHING`` ingestion against
a per-record check-then-insert ORM loop, on a fresh SQLite file each, in the same run.

Run: ``.venv/bin/python bench/bench_ingest.py [--records 20000]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.testing import actions
from fangkong.testing.enums import ResultFormat
from fangkong.testing.models import ResultUpload, Tube, TubeResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_hl7 import build_batch

OPENED = datetime(2022, 11, 10, 6, 0, tzinfo=UTC)


def fresh_session(folder: Path, name: str, barcodes: list[str]) -> Session:
    url = f"sqlite:///{folder / name}"
    migrate.upgrade(url)
    session = sessionmaker(bind=create_db_engine(url), expire_on_commit=False)()
    session.execute(
        insert(Tube),
        [
            {
                "barcode": barcode,
                "area_path": "/43/4302/430203/",
                "pool_size": 10,
                "status": "sealed",
                "opened_at": OPENED,
            }
            for barcode in barcodes
        ],
    )
    session.commit()
    return session


def naive_ingest(session: Session, content: bytes) -> int:
    """The baseline: for each record, look it up, look its tube up, add it if new."""
    report = actions.parse_file(result_format=ResultFormat.HL7, content=content)
    stored = 0
    now = datetime.now(UTC)
    upload_id = 1
    session.execute(
        insert(ResultUpload).values(
            content_sha256="x" * 64,
            format="hl7v2",
            filename="naive",
            uploaded_at=now,
            accepted_count=0,
            stored_count=0,
            duplicate_count=0,
            unmatched_count=0,
            rejected_count=0,
            rejections=[],
        )
    )
    for record in report.accepted:
        key = record.idempotency_key
        if session.scalar(select(TubeResult.id).where(TubeResult.idempotency_key == key)):
            continue
        tube_id = session.scalar(select(Tube.id).where(Tube.barcode == record.tube_barcode))
        session.add(
            TubeResult(
                idempotency_key=key,
                upload_id=upload_id,
                tube_id=tube_id,
                tube_barcode=record.tube_barcode,
                lab_id=record.lab_id,
                message_id=record.message_id,
                result=record.result.value,
                loinc_code=record.loinc_code,
                ct_values=dict(record.ct_values),
                collected_at=record.collected_at,
                received_at=record.received_at,
                reported_at=record.reported_at,
                stored_at=now,
            )
        )
        stored += 1
    session.commit()
    return stored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    arguments = parser.parse_args()
    content = build_batch(arguments.records).encode()
    barcodes = [f"ZZ43020{n:08d}" for n in range(arguments.records)]
    with tempfile.TemporaryDirectory() as folder:
        fast_session = fresh_session(Path(folder), "fast.db", barcodes)
        naive_session = fresh_session(Path(folder), "naive.db", barcodes)

        start = time.perf_counter()
        upload, _ = actions.ingest_result_file(
            session=fast_session,
            actor=None,
            result_format=ResultFormat.HL7,
            filename="bench.hl7",
            content=content,
        )
        fast_session.commit()
        fast = time.perf_counter() - start

        start = time.perf_counter()
        naive_stored = naive_ingest(naive_session, content)
        naive = time.perf_counter() - start

        stored = fast_session.scalar(select(func.count()).select_from(TubeResult))
        assert upload.stored_count == stored == naive_stored == arguments.records
        assert upload.unmatched_count == 0
    print(f"records: {arguments.records:,} (parse included in both)")
    print(f"ingest_result_file (chunked upsert): {fast:.2f} s ({arguments.records / fast:,.0f}/s)")
    print(f"per-record check-then-insert: {naive:.2f} s ({arguments.records / naive:,.0f}/s)")
    print(f"ratio (naive / chunked): {naive / fast:.2f}x")


if __name__ == "__main__":
    main()
