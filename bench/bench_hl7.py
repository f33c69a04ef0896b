"""HL7 v2.5.1 batch parse rate: fangkong's ORU^R01 reader against a naive full-tree parser.

Builds a FHS/BHS batch of ``--records`` ORU^R01 messages (one pooled tube each: MSH, PID, ORC,
OBR, a qualitative OBX, two Ct OBX, SPM), then parses it with :func:`parse_hl7` and with a
baseline that splits every segment into fields, repetitions, components and sub-components,
unescapes every leaf and then reads the record, as a generic HL7 library does. Both must yield
the same records.

Run: ``.venv/bin/python bench/bench_hl7.py [--records 400000]``
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fangkong.testing.enums import LabResult
from fangkong.testing.formats.hl7 import Encoding, parse_hl7
from fangkong.testing.formats.records import LabResultRecord
from fangkong.testing.formats.vocabulary import (
    ACCEPTED_PRESENCE_CODES,
    SNOMED_RESULTS,
    ct_target,
)

CST = timezone(timedelta(hours=8))


def build_batch(records: int) -> str:
    lines = [
        "FHS|^~\\&|ZZLIS|ZZLAB|FANGKONG|ZZCDC|20221110150000+0800",
        "BHS|^~\\&|ZZLIS|ZZLAB|FANGKONG|ZZCDC|20221110150000+0800",
    ]
    start = datetime(2022, 11, 10, 6, 0, tzinfo=CST)
    for n in range(records):
        tube = f"ZZ43020{n:08d}"
        collected = (start + timedelta(seconds=n // 10)).strftime("%Y%m%d%H%M%S+0800")
        reported = (start + timedelta(hours=6, seconds=n // 10)).strftime("%Y%m%d%H%M%S+0800")
        positive = n % 100 == 7
        result = "260373001^Detected^SCT" if positive else "260415000^Not detected^SCT"
        lines += [
            f"MSH|^~\\&|ZZLIS^2.16.840.1.113883.3.9999.1^ISO|株洲检测^12430200MB1234567X^CHNORG|"
            f"FANGKONG|ZZCDC|{reported}||ORU^R01^ORU_R01|ZZL-{n}|P|2.5.1|||NE|NE|CHN",
            f"PID|1||POOL-{tube}^^^ZZLAB^PN||Pool^Tube",
            f"ORC|RE|{tube}^ZZLAB|{tube}^ZZLAB",
            f"OBR|1|{tube}^ZZLAB|{tube}^ZZLAB|94500-6^SARS-CoV-2 RNA panel^LN|||{collected}"
            f"|||||||||||||||{reported}|||F",
            f"OBX|1|CWE|94500-6^SARS-CoV-2 RNA Resp Ql NAA+probe^LN||{result}||||||F",
            f"OBX|2|NM|94511-3^ORF1ab Ct^LN||{24 + n % 9}.5|{{Ct_value}}||||||F",
            f"OBX|3|NM|FK-CT^Ct^L|N|{25 + n % 7}.25|{{Ct_value}}||||||F",
            f"SPM|1|{tube}&ZZLAB^{tube}&ZZLAB||258529004^Throat swab^SCT|||||||||||||{collected}",
        ]
    lines += [f"BTS|{records}", "FTS|1"]
    return "\r".join(lines) + "\r"


def _tree(line: str, enc: Encoding) -> list[list[list[list[str]]]]:
    """A segment as fields → repetitions → components → sub-components, every leaf unescaped."""
    fields = line.split(enc.field)
    if fields[0] == "MSH":  # MSH-1 is the separator itself and MSH-2 is not to be split
        fields = ["MSH", enc.field, *fields[1:]]
        head = [[[[fields[0]]]], [[[fields[1]]]], [[[fields[2]]]]]
        rest = fields[3:]
    else:
        head = [[[[fields[0]]]]]
        rest = fields[1:]
    return head + [
        [
            [
                [enc.unescape(sub) for sub in component.split(enc.subcomponent)]
                for component in repetition.split(enc.component)
            ]
            for repetition in field.split(enc.repetition)
        ]
        for field in rest
    ]


def _get(tree: list[Any], field: int, component: int = 1, sub: int = 1) -> str:
    try:
        return str(tree[field][0][component - 1][sub - 1])
    except IndexError:
        return ""


def _dtm(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%S%z").astimezone(UTC)


def naive_parse(text: str) -> list[LabResultRecord]:
    """The baseline: build the whole tree of each message, then read it."""
    records: list[LabResultRecord] = []
    enc = Encoding()
    message: list[list[Any]] = []

    def flush() -> None:
        if not message:
            return
        msh = message[0]
        obr: list[Any] | None = None
        obxs: list[list[Any]] = []
        spm: list[Any] | None = None
        for tree in message[1:]:
            kind = tree[0][0][0][0]
            if kind == "OBR":
                obr = tree
            elif kind == "OBX":
                obxs.append(tree)
            elif kind == "SPM":
                spm = tree
        if obr is None or spm is None:
            return
        results = []
        cts: dict[str, float] = {}
        for obx in obxs:
            code = _get(obx, 3)
            if code in ACCEPTED_PRESENCE_CODES:
                results.append(SNOMED_RESULTS[_get(obx, 5)])
            else:
                target = ct_target(code, _get(obx, 4))
                if target is not None:
                    cts[target] = float(_get(obx, 5))
        records.append(
            LabResultRecord(
                tube_barcode=_get(spm, 2),
                result=results[0] if results else LabResult.INVALID,
                loinc_code=_get(obxs[0], 3),
                lab_id=_get(msh, 4, 2),
                message_id=_get(msh, 10),
                collected_at=_dtm(_get(spm, 17)),
                reported_at=_dtm(_get(obr, 22)),
                received_at=None,
                ct_values=cts,
            )
        )

    for line in text.replace("\r\n", "\r").split("\r"):
        if not line:
            continue
        if line.startswith("MSH"):
            flush()
            message = [_tree(line, enc)]
        elif line[:3] in ("FHS", "BHS", "BTS", "FTS"):
            flush()
            message = []
        elif message:
            message.append(_tree(line, enc))
    flush()
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=400_000)
    arguments = parser.parse_args()
    text = build_batch(arguments.records)
    print(f"batch: {arguments.records:,} results, {len(text.encode()) / 1e6:.1f} MB")

    start = time.perf_counter()
    report = parse_hl7(text)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    baseline = naive_parse(text)
    naive = time.perf_counter() - start

    assert report.rejected == [], report.rejected[:3]
    assert len(report.accepted) == len(baseline) == arguments.records
    assert report.accepted[-1] == baseline[-1] and report.accepted[7] == baseline[7]
    print(f"fangkong parse_hl7: {fast:.2f} s ({arguments.records / fast:,.0f} records/s)")
    print(f"naive full-tree parser: {naive:.2f} s ({arguments.records / naive:,.0f} records/s)")
    print(f"ratio (naive / fangkong): {naive / fast:.2f}x")


if __name__ == "__main__":
    main()
