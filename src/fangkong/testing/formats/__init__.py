"""Lab-result ingestion formats: HL7 v2.5.1 ORU^R01, FHIR R4 JSON and CSV.

Every parser is pure (text in, :class:`ParseReport` out): it never touches the database or the
clock. A bad record is refused with a stable code and the rest of the file still loads.
"""

from fangkong.testing.formats.records import LabResultRecord, ParseReport, RecordRejection

__all__ = ["LabResultRecord", "ParseReport", "RecordRejection"]
