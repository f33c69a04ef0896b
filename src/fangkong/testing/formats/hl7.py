"""HL7 v2.5.1 ORU^R01 electronic lab reports (single messages or FHS/BHS batch files).

What is read (see ``docs/testing.md`` for the full table):

* ``MSH``: separators from MSH-1/MSH-2, sending facility MSH-4 (the lab id: universal id
  MSH-4.2, else namespace MSH-4.1), MSH-7 message time, MSH-9 must be ``ORU^R01``, MSH-10 the
  message control id (idempotency), MSH-12 version 2.5 or later.
* Each ``OBR`` opens one order group = one tube: OBR-2 placer order number (tube barcode when
  there is no SPM), OBR-7 observation time, OBR-14 received time, OBR-22 report time.
* ``OBX`` in the group: a CWE result whose OBX-3 is an accepted LOINC presence code and whose
  OBX-5 is a SNOMED CT qualifier; NM results whose OBX-3 is a Ct code (target from the code, or
  the local ``FK-CT`` code with the target in OBX-4). OBX-11 must be F (final) or C (corrected).
* ``SPM``: SPM-2 specimen id (the tube barcode; placer id, else filler id), SPM-17 collection
  time, SPM-18 received time.

Other segments (SFT, PID, ORC, NTE, TQ1, Z-segments) are skipped. One bad order group is refused
with a code; the rest of the message and the file still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from fangkong.testing.enums import LabResult, ResultFormat
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.records import (
    DEFAULT_LAB_TIMEZONE,
    LabResultRecord,
    ParseReport,
    RecordRefused,
    check_ct_value,
    check_times,
    check_tube_barcode,
    combine_results,
)
from fangkong.testing.formats.vocabulary import ACCEPTED_PRESENCE_CODES, SNOMED_RESULTS, ct_target

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
# DTM: YYYYMMDDHHMM[SS[.S[S[S[S]]]]][+/-ZZZZ]; a result needs at least minute precision.
_DTM = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?")
_FINAL_STATUSES = frozenset({"F", "C"})
# Segment ids met in lab reports; others are checked against the id pattern.
_COMMON_SEGMENTS = frozenset({"PID", "PD1", "PV1", "NK1", "ORC", "OBR", "OBX", "SPM", "NTE", "SFT"})


@dataclass(frozen=True, slots=True)
class Encoding:
    """The delimiters a message declares in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, value: str) -> str:
        """Resolve HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh..\\ \\.br\\)."""
        esc = self.escape
        if not esc or esc not in value:
            return value
        out: list[str] = []
        position = 0
        while True:
            start = value.find(esc, position)
            if start < 0:
                out.append(value[position:])
                return "".join(out)
            end = value.find(esc, start + 1)
            if end < 0:  # an unterminated escape is kept as text rather than dropped
                out.append(value[position:])
                return "".join(out)
            out.append(value[position:start])
            out.append(self._escape_text(value[start + 1 : end]))
            position = end + 1

    def _escape_text(self, sequence: str) -> str:
        simple = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
            ".br": "\n",
        }
        if sequence in simple:
            return simple[sequence]
        if sequence.startswith("X") and len(sequence) % 2 == 1:
            try:
                return bytes.fromhex(sequence[1:]).decode("utf-8")
            except ValueError:
                return ""
        return ""  # formatting sequences (\H\, \N\, \.sp\ ...) carry no data


@lru_cache(maxsize=256)
def _offset(sign_and_digits: str) -> tzinfo:
    minutes = int(sign_and_digits[1:3]) * 60 + int(sign_and_digits[3:5])
    return timezone(timedelta(minutes=-minutes if sign_and_digits[0] == "-" else minutes))


@lru_cache(maxsize=65536)
def parse_hl7_timestamp(value: str, local_timezone: tzinfo) -> datetime:
    """An HL7 DTM as an aware UTC datetime; without an offset it is read in ``local_timezone``.

    Raises :class:`RecordRefused` (``timestamp_invalid``) for anything coarser than minutes,
    impossible dates or malformed offsets.
    """
    match = _DTM.fullmatch(value)
    if match is None:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_INVALID,
            f"{value!r} is not an HL7 date/time to the minute (YYYYMMDDHHMM[SS][+ZZZZ])",
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone = local_timezone if offset is None else _offset(offset)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_INVALID, f"{value!r} is not a real date/time"
        ) from None
    return moment.astimezone(UTC)


@dataclass(slots=True)
class _Message:
    index: int
    encoding: Encoding
    lab_id: str | None
    message_id: str | None
    sent_at: str
    refusal: tuple[TestingErrorCode, str] | None = None


@dataclass(slots=True)
class _Group:
    index: int
    segments: list[tuple[int, list[str]]] = field(default_factory=list)
    malformed: tuple[int, str] | None = None


def _component(value: str, separator: str, position: int) -> str:
    """The 1-based component ``position`` of ``value`` ('' when absent)."""
    if separator not in value:
        return value if position == 1 else ""
    parts = value.split(separator)
    return parts[position - 1] if len(parts) >= position else ""


def _field(fields: list[str], number: int) -> str:
    return fields[number] if len(fields) > number else ""


def parse_hl7(text: str, *, local_timezone: tzinfo = DEFAULT_LAB_TIMEZONE) -> ParseReport:
    """Parse an ORU^R01 message or a batch file into records and per-record refusals."""
    return _Parser(local_timezone).run(text)


class _Parser:
    def __init__(self, local_timezone: tzinfo) -> None:
        self.local_timezone = local_timezone
        self.report = ParseReport(ResultFormat.HL7)
        self.message: _Message | None = None
        self.group: _Group | None = None
        self.messages_in_batch = 0
        self.batches = 0
        self.seen_keys: set[str] = set()

    def run(self, text: str) -> ParseReport:
        # The standard ends segments with CR; files that went through other tools use LF or CRLF.
        lines = text.lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r").split("\r")
        if not any(line.strip() for line in lines):
            self.report.reject(1, TestingErrorCode.FILE_EMPTY, "the file holds no segments")
            return self.report
        for number, line in enumerate(lines, start=1):
            if line:
                self._segment(number, line)
        self._close_group()
        return self.report

    def _segment(self, number: int, line: str) -> None:
        segment_id = line[:3]
        if segment_id == "MSH":
            self._close_group()
            self._open_message(number, line)
            return
        if segment_id in ("FHS", "BHS", "BTS", "FTS"):
            self._close_group()
            self.message = None
            self._batch_segment(number, segment_id, line)
            return
        message = self.message
        if message is None or message.refusal is not None:
            if message is None and line.strip():
                self.report.reject(
                    number,
                    TestingErrorCode.HL7_BATCH_STRUCTURE,
                    f"segment {segment_id!r} outside any message",
                )
            return
        separator = message.encoding.field
        if (segment_id not in _COMMON_SEGMENTS and _SEGMENT_ID.fullmatch(segment_id) is None) or (
            len(line) > 3 and line[3] != separator
        ):
            self._malformed(number, f"segment {line[:12]!r} has no valid id and separator")
            return
        if segment_id == "OBR":
            self._close_group()
            self.group = _Group(number)
        elif segment_id == "PID":
            self._close_group()
        if self.group is not None and segment_id in ("OBR", "OBX", "SPM"):
            self.group.segments.append((number, line.split(separator)))

    def _malformed(self, number: int, message: str) -> None:
        if self.group is not None:
            if self.group.malformed is None:
                self.group.malformed = (number, message)
        else:
            self.report.reject(number, TestingErrorCode.HL7_SEGMENT_MALFORMED, message)

    def _open_message(self, number: int, line: str) -> None:
        self.messages_in_batch += 1
        if len(line) < 8:
            self.message = _Message(number, Encoding(), None, None, "")
            self.message.refusal = (
                TestingErrorCode.HL7_SEGMENT_MALFORMED,
                "MSH-1/MSH-2 do not declare the separators",
            )
            self.report.reject(number, *self.message.refusal)
            return
        separator = line[3]
        fields = line.split(separator)
        declared = fields[1] if len(fields) > 1 else ""
        if len(declared) < 4 or len(set(declared[:4] + separator)) != 5:
            encoding = Encoding()
            refusal: tuple[TestingErrorCode, str] | None = (
                TestingErrorCode.HL7_SEGMENT_MALFORMED,
                f"MSH-2 {declared!r} does not declare four distinct encoding characters",
            )
        else:
            encoding = Encoding(
                separator, declared[0], declared[1], declared[2], declared[3:4] or "&"
            )
            refusal = None
        sending = _field(fields, 3)
        lab_id = encoding.unescape(
            _component(sending, encoding.component, 2) or _component(sending, encoding.component, 1)
        )
        message_id = encoding.unescape(_field(fields, 9))
        message_type = _field(fields, 8).split(encoding.component)
        version = _component(_field(fields, 11), encoding.component, 1)
        if refusal is None and message_type[:2] != ["ORU", "R01"]:
            refusal = (
                TestingErrorCode.HL7_MESSAGE_TYPE_UNSUPPORTED,
                f"message type {_field(fields, 8)!r} is not ORU^R01",
            )
        if refusal is None and not _version_supported(version):
            refusal = (
                TestingErrorCode.HL7_VERSION_UNSUPPORTED,
                f"HL7 version {version!r} is older than 2.5 (no SPM segment)",
            )
        self.message = _Message(
            number, encoding, lab_id or None, message_id or None, _field(fields, 6)
        )
        if refusal is not None:
            self.message.refusal = refusal
            self.report.reject(number, *refusal)

    def _batch_segment(self, number: int, segment_id: str, line: str) -> None:
        separator = line[3] if len(line) > 3 else "|"
        if segment_id == "BHS":
            self.messages_in_batch = 0
            self.batches += 1
            return
        if segment_id == "FHS":
            self.batches = 0
            return
        counted = self.messages_in_batch if segment_id == "BTS" else self.batches
        declared = _field(line.split(separator), 1)
        if declared and declared.isdigit() and int(declared) != counted:
            self.report.reject(
                number,
                TestingErrorCode.HL7_BATCH_COUNT_MISMATCH,
                f"{segment_id}-1 declares {declared} but the file holds {counted}; "
                "every readable record was kept",
            )

    def _close_group(self) -> None:
        group, self.group = self.group, None
        if group is None or self.message is None:
            return
        try:
            if group.malformed is not None:
                raise RecordRefused(TestingErrorCode.HL7_SEGMENT_MALFORMED, group.malformed[1])
            record = self._record(group)
            if record.idempotency_key in self.seen_keys:
                raise RecordRefused(
                    TestingErrorCode.DUPLICATE_RECORD,
                    f"tube {record.tube_barcode} appears twice in message {record.message_id}",
                    record.tube_barcode,
                )
            self.seen_keys.add(record.idempotency_key)
            self.report.accepted.append(record)
        except RecordRefused as refused:
            index = group.malformed[0] if group.malformed is not None else group.index
            self.report.reject(index, refused.code, refused.message, refused.tube_barcode)

    def _record(self, group: _Group) -> LabResultRecord:
        spm = next((fields for _, fields in group.segments if fields[0] == "SPM"), None)
        assert self.message is not None  # a group only opens inside a message
        barcode = check_tube_barcode(
            self._barcode(spm, group.segments[0][1], self.message.encoding)
        )
        try:
            return self._record_of_tube(group, barcode, spm)
        except RecordRefused as refused:
            refused.tube_barcode = barcode
            raise

    def _record_of_tube(
        self, group: _Group, barcode: str, spm: list[str] | None
    ) -> LabResultRecord:
        message = self.message
        assert message is not None  # a group only opens inside a message
        enc = message.encoding
        obr = group.segments[0][1]
        results: list[LabResult] = []
        loinc_codes: list[str] = []
        ct_values: dict[str, float] = {}
        unknown_code: str | None = None
        for _, fields in group.segments[1:]:
            if fields[0] == "SPM":
                continue
            code = _component(_field(fields, 3), enc.component, 1)
            status = _field(fields, 11)
            if code in ACCEPTED_PRESENCE_CODES:
                if status not in _FINAL_STATUSES:
                    raise RecordRefused(
                        TestingErrorCode.RESULT_NOT_FINAL,
                        f"OBX-11 status {status!r} is not F (final) or C (corrected)",
                    )
                results.append(self._qualitative(_field(fields, 5), enc))
                loinc_codes.append(code)
                continue
            target = ct_target(code, _field(fields, 4))
            if target is not None:
                raw = _component(_field(fields, 5), enc.component, 1)
                ct_values[target] = check_ct_value(raw, target)
            elif unknown_code is None and code:
                unknown_code = code
        if not results:
            if unknown_code is not None:
                raise RecordRefused(
                    TestingErrorCode.TEST_CODE_NOT_ACCEPTED,
                    f"test code {unknown_code!r} is not an accepted SARS-CoV-2 RNA LOINC code",
                )
            raise RecordRefused(TestingErrorCode.RESULT_MISSING, "no qualitative OBX result")
        if message.lab_id is None:
            raise RecordRefused(TestingErrorCode.LAB_ID_MISSING, "MSH-4 names no laboratory")
        if message.message_id is None:
            raise RecordRefused(TestingErrorCode.MESSAGE_ID_MISSING, "MSH-10 is empty")
        collected_raw = _component(
            _component(_field(spm or [], 17), enc.component, 1), enc.subcomponent, 1
        )
        collected_raw = collected_raw or _component(_field(obr, 7), enc.component, 1)
        if not collected_raw:
            raise RecordRefused(
                TestingErrorCode.TIMESTAMP_MISSING, "no collection time (SPM-17 or OBR-7)"
            )
        received_raw = _component(_field(spm or [], 18), enc.component, 1) or _component(
            _field(obr, 14), enc.component, 1
        )
        reported_raw = _component(_field(obr, 22), enc.component, 1) or message.sent_at
        zone = self.local_timezone
        collected_at = parse_hl7_timestamp(collected_raw, zone)
        received_at = parse_hl7_timestamp(received_raw, zone) if received_raw else None
        reported_at = parse_hl7_timestamp(reported_raw, zone)
        check_times(collected_at, received_at, reported_at)
        return LabResultRecord(
            tube_barcode=barcode,
            result=combine_results(results),
            loinc_code=loinc_codes[0],
            lab_id=message.lab_id,
            message_id=message.message_id,
            collected_at=collected_at,
            reported_at=reported_at,
            received_at=received_at,
            ct_values=ct_values,
        )

    @staticmethod
    def _qualitative(value: str, enc: Encoding) -> LabResult:
        code = _component(value, enc.component, 1)
        if not code:
            raise RecordRefused(TestingErrorCode.RESULT_MISSING, "OBX-5 is empty")
        result = SNOMED_RESULTS.get(code)
        if result is None:
            raise RecordRefused(
                TestingErrorCode.RESULT_CODE_UNKNOWN,
                f"OBX-5 {code!r} is not an accepted SNOMED CT result code",
            )
        return result

    @staticmethod
    def _barcode(spm: list[str] | None, obr: list[str], enc: Encoding) -> str | None:
        if spm is not None:
            specimen_id = _field(spm, 2)
            for position in (1, 2):
                entity = _component(specimen_id, enc.component, position)
                identifier = _component(entity, enc.subcomponent, 1)
                if identifier:
                    return enc.unescape(identifier)
        placer = _component(_field(obr, 2), enc.component, 1)
        return enc.unescape(placer) if placer else None


@lru_cache(maxsize=64)
def _version_supported(version: str) -> bool:
    try:
        parts = tuple(int(part) for part in version.split("."))
    except ValueError:
        return False
    return (2, 5) <= parts[:2] < (3, 0)
