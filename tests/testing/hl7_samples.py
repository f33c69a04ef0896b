"""Sample ORU^R01 messages written for these tests (a Zhuzhou lab reporting pooled tubes)."""

from __future__ import annotations

CR = "\r"


def oru(
    *,
    control_id: str = "ZZL20221110-0001",
    tube: str = "ZZ430203100001",
    result: str = "260415000^Not detected^SCT",
    loinc: str = "94500-6",
    collected: str = "20221110071500+0800",
    received: str = "20221110093000+0800",
    reported: str = "20221110143000+0800",
    status: str = "F",
    ct_segments: tuple[str, ...] = (),
    msh_type: str = "ORU^R01^ORU_R01",
    version: str = "2.5.1",
    sending_facility: str = "株洲市第一检测实验室^12430200MB1234567X^CHNORG",
) -> list[str]:
    """One message as a list of segments (one tube, one qualitative OBX, optional Ct OBX)."""
    obx = [
        f"OBX|1|CWE|{loinc}^SARS-CoV-2 RNA Resp Ql NAA+probe^LN||{result}||||||{status}|||"
        f"{collected}|||||{reported}",
        *ct_segments,
    ]
    return [
        f"MSH|^~\\&|ZZLIS^2.16.840.1.113883.3.9999.1^ISO|{sending_facility}|FANGKONG|ZZCDC|"
        f"{reported}||{msh_type}|{control_id}|P|{version}|||NE|NE|CHN",
        "SFT|Zhuzhou LIS Co.|3.2|ZZLIS|3.2.7",
        "PID|1||POOL-" + tube + "^^^ZZLAB^PN||Pool^Tube",
        f"ORC|RE|{tube}^ZZLAB|{tube}^ZZLAB",
        f"OBR|1|{tube}^ZZLAB|{tube}^ZZLAB|94500-6^SARS-CoV-2 RNA panel^LN|||{collected}|||||||"
        f"{received}||||||||{reported}|||F",
        *obx,
        f"SPM|1|{tube}&ZZLAB^{tube}&ZZLAB||258529004^Throat swab^SCT|||||||||||||"
        f"{collected}|{received}",
    ]


def ct(target_code: str, value: str, set_id: int = 2, sub_id: str = "") -> str:
    return f"OBX|{set_id}|NM|{target_code}^Ct^LN|{sub_id}|{value}|{{Ct_value}}||||||F"


def message(segments: list[str]) -> str:
    return CR.join(segments) + CR


def batch(messages: list[list[str]], *, declared: int | None = None) -> str:
    count = len(messages) if declared is None else declared
    lines = [
        "FHS|^~\\&|ZZLIS|ZZLAB|FANGKONG|ZZCDC|20221110150000+0800",
        "BHS|^~\\&|ZZLIS|ZZLAB|FANGKONG|ZZCDC|20221110150000+0800",
    ]
    for segments in messages:
        lines.extend(segments)
    lines += [f"BTS|{count}", "FTS|1"]
    return CR.join(lines) + CR
