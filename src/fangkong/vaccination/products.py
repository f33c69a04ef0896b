"""The COVID-19 vaccines used in mainland China, with the codes imports arrive with.

Each product has its CVX code (CDC vaccine administered code set:
https://www2a.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx), its Chinese names as they
appear on vaccination certificates and clinic exports, the number of doses in its primary
course, and ``available_from``: the earliest date a dose could lawfully have been given in
China (emergency use where that came before the conditional marketing approval). A dose dated
before it is refused as a data error. Dates and sources are listed in ``docs/vaccination.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class VaccineProduct:
    cvx: str
    name_en: str
    names_zh: tuple[str, ...]
    manufacturer: str
    primary_doses: int
    available_from: date
    approved_on: date  # NMPA conditional marketing approval
    source: str


PRODUCTS: tuple[VaccineProduct, ...] = (
    VaccineProduct(
        cvx="510",
        name_en="SARS-CoV-2 Vaccine (Vero Cell), Inactivated — BIBP (Sinopharm)",
        names_zh=("新冠病毒灭活疫苗(Vero细胞)北京生物", "北京生物", "国药北京", "众爱可维"),
        manufacturer="北京生物制品研究所 (Sinopharm Beijing Institute of Biological Products)",
        primary_doses=2,
        # Emergency use for key groups began on 22 July 2020 (NHC briefing, 22 Aug 2020).
        available_from=date(2020, 7, 22),
        approved_on=date(2020, 12, 31),
        source="NMPA announcement of 31 Dec 2020; NHC press briefing of 22 Aug 2020",
    ),
    VaccineProduct(
        cvx="511",
        name_en="CoronaVac, Inactivated — Sinovac",
        names_zh=("新冠病毒灭活疫苗(Vero细胞)科兴", "科兴", "克尔来福"),
        manufacturer="北京科兴中维生物技术有限公司 (Sinovac Life Sciences)",
        primary_doses=2,
        available_from=date(2020, 7, 22),
        approved_on=date(2021, 2, 5),
        source="NMPA announcement of 5 Feb 2021; NHC press briefing of 22 Aug 2020",
    ),
    VaccineProduct(
        cvx="506",
        name_en="Ad5-nCoV (Convidecia), adenovirus vector — CanSino",
        names_zh=("重组新冠病毒疫苗(5型腺病毒载体)", "康希诺", "克威莎"),
        manufacturer="康希诺生物股份公司 (CanSino Biologics)",
        primary_doses=1,
        available_from=date(2021, 2, 25),
        approved_on=date(2021, 2, 25),
        source="NMPA announcement of 25 Feb 2021",
    ),
    VaccineProduct(
        cvx="507",
        name_en="ZF2001 (Zifivax), recombinant protein subunit — Anhui Zhifei Longcom",
        names_zh=("重组新冠病毒蛋白疫苗(CHO细胞)", "智飞龙科马", "智克威得"),
        manufacturer="安徽智飞龙科马生物制药有限公司 (Anhui Zhifei Longcom)",
        primary_doses=3,
        # Emergency use approved 10 March 2021.
        available_from=date(2021, 3, 10),
        approved_on=date(2022, 3, 1),
        source="company announcements of 15 Mar 2021 (emergency use) and 1 Mar 2022",
    ),
)

BY_CVX = {product.cvx: product for product in PRODUCTS}
BY_NAME = {name: product for product in PRODUCTS for name in product.names_zh}
CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"


def find_product(value: str) -> VaccineProduct | None:
    """A product by its CVX code or any of its Chinese names; None when unknown."""
    value = value.strip()
    return BY_CVX.get(value) or BY_NAME.get(value)
