"""The test and result codes the parsers accept, with names and sources.

LOINC codes: https://loinc.org/sars-cov-2-and-covid-19/ and the HL7 COVID-19 FHIR Profile
Library IG (https://hl7.org/fhir/us/covid19library/), which gives one example per code.
SNOMED CT qualifier values: SNOMED CT International Edition, as used by the same IG and by the
CDC LIVD SARS-CoV-2 test code mapping. ``docs/testing.md`` lists them as tables.
"""

from __future__ import annotations

from fangkong.testing.enums import LabResult

LOINC_SYSTEM = "http://loinc.org"
SNOMED_SYSTEM = "http://snomed.info/sct"

# Qualitative SARS-CoV-2 RNA tests (answer is a SNOMED CT qualifier value).
ACCEPTED_PRESENCE_CODES: dict[str, str] = {
    "94500-6": "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory system specimen by NAA with "
    "probe detection",
    "94309-2": "SARS-CoV-2 (COVID-19) RNA [Presence] in Specimen by NAA with probe detection",
    "94533-7": "SARS-CoV-2 (COVID-19) N gene [Presence] in Respiratory system specimen by NAA "
    "with probe detection",
    "94534-5": "SARS-CoV-2 (COVID-19) RdRp gene [Presence] in Respiratory system specimen by NAA "
    "with probe detection",
    "94756-4": "SARS-CoV-2 (COVID-19) N gene [Presence] in Respiratory system specimen by NAA "
    "using CDC primer-probe set N1",
    "94757-2": "SARS-CoV-2 (COVID-19) N gene [Presence] in Respiratory system specimen by NAA "
    "using CDC primer-probe set N2",
    "94759-8": "SARS-CoV-2 (COVID-19) RNA [Presence] in Nasopharynx by NAA with probe detection",
    "94845-5": "SARS-CoV-2 (COVID-19) RNA [Presence] in Saliva (oral fluid) by NAA with probe "
    "detection",
}

# Cycle-threshold observations (numeric) and the target each one measures.
CT_CODE_TARGETS: dict[str, str] = {
    "94745-7": "RNA",  # RNA [Cycle Threshold #] in Respiratory specimen by NAA with probe detection
    "94746-5": "RNA",  # RNA [Cycle Threshold #] in Specimen by NAA with probe detection
    "94510-5": "N",  # N gene [Cycle Threshold #] in Specimen by NAA with probe detection
    "94511-3": "ORF1ab",  # ORF1ab region [Cycle Threshold #] in Specimen by NAA+probe
    "94642-6": "S",  # S gene [Cycle Threshold #] in Respiratory specimen by NAA+probe
    "94311-8": "N1",  # N gene [Cycle Threshold #] in Specimen by NAA, CDC primer-probe set N1
}

# Chinese kits report ORF1ab, N and E targets that LOINC does not all cover for every specimen,
# so a lab may send this local code with the target named in the observation sub-id (HL7 OBX-4,
# FHIR component code text / CSV column ``ct_<target>``).
LOCAL_CT_CODE = "FK-CT"
CT_TARGETS = ("ORF1ab", "N", "E", "S", "N1", "N2", "RdRp", "RNA")

SNOMED_RESULTS: dict[str, LabResult] = {
    "260373001": LabResult.DETECTED,  # Detected (qualifier value)
    "260415000": LabResult.NOT_DETECTED,  # Not detected (qualifier value)
    "419984006": LabResult.INCONCLUSIVE,  # Inconclusive (qualifier value)
    "10828004": LabResult.DETECTED,  # Positive (qualifier value)
    "260385009": LabResult.NOT_DETECTED,  # Negative (qualifier value)
    "455371000124106": LabResult.INVALID,  # Invalid result (qualifier value), US Edition
}

SNOMED_NAMES: dict[str, str] = {
    "260373001": "Detected",
    "260415000": "Not detected",
    "419984006": "Inconclusive",
    "10828004": "Positive",
    "260385009": "Negative",
    "455371000124106": "Invalid result",
}


def ct_target(code: str, sub_id: str | None) -> str | None:
    """The Ct target a test code measures, or None when the code is not a Ct code we accept."""
    if code in CT_CODE_TARGETS:
        return CT_CODE_TARGETS[code]
    if code == LOCAL_CT_CODE:
        for target in CT_TARGETS:
            if sub_id is not None and sub_id.strip().lower() == target.lower():
                return target
    return None
