"""Printable labels for mass testing: registration-code sheets and tube barcode labels.

* A registration-code sheet is printed per building, door by door: for each household a label
  with its household code (户码: one adult shows it for every member), then one label per
  resident with the QR code of their signed registration code (信息码), their masked name and
  building/unit/room, so grid workers hand each door its strip before a round (the paper slip
  that halved queues).
* Tube labels are Code 128 barcodes with sequential numbers (``<prefix><number>``), the
  printed barcodes the sampling page scans.

The layout and the inline-image QR drawing follow :mod:`fangkong.enterprise.sheets`; text is set
in STSong-Light, a CJK font PDF readers supply themselves, so nothing is downloaded.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.errors import NotFound
from fangkong.core.scope import Actor
from fangkong.enterprise.sheets import FONT, qr_modules
from fangkong.registry.models import Building, Compound, Household, Person
from fangkong.testing.codes import MAX_MEMBERS, issue_household_code, issue_person_code
from fangkong.testing.errors import TestingError, TestingErrorCode
from fangkong.testing.formats.records import RecordRefused, check_tube_barcode
from fangkong.testing.sampling import RegistrationKeys, mask_name

# Registration labels: 3 x 7 on A4 (the common 63.5 x 38.1 mm sticker sheet).
CODE_COLUMNS, CODE_ROWS = 3, 7
CODE_WIDTH, CODE_HEIGHT = 63.5 * mm, 38.1 * mm
CODE_MARGIN_X, CODE_MARGIN_Y = 7.2 * mm, 15.1 * mm
CODE_QR = 34 * mm
# Tube labels: 4 x 12 on A4, small enough for a sampling tube.
TUBE_COLUMNS, TUBE_ROWS = 4, 12
TUBE_WIDTH, TUBE_HEIGHT = 48 * mm, 22 * mm
TUBE_MARGIN_X, TUBE_MARGIN_Y = 9 * mm, 16 * mm
MAX_TUBE_LABELS = 5000


@dataclass(frozen=True)
class ResidentLabel:
    person_id: int
    code: str
    name_masked: str
    address: str


@dataclass(frozen=True)
class HouseholdLabels:
    """One door's labels: the household code (户码), which the presenting adult shows for every
    member at once, then one person code per member."""

    household_id: int
    address: str
    presenter_id: int
    code: str
    members: list[ResidentLabel]


def presenter(members: Sequence[tuple[int, date | None]], *, today: date) -> int:
    """Who presents a household code: the eldest member aged 18 to 64, else the eldest member,
    else (no birth dates) the first; ``members`` are ``(person id, birth date)`` by id."""

    def age(born: date) -> int:
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    dated = [(born, person) for person, born in members if born is not None]
    adults = [(born, person) for born, person in dated if 18 <= age(born) <= 64]
    for group in (adults, dated):
        if group:
            return min(group)[1]
    return members[0][0]


def building_labels(
    *,
    session: Session,
    actor: Actor,
    building_id: int,
    keys: RegistrationKeys,
    now: datetime | None = None,
) -> tuple[str, list[HouseholdLabels]]:
    """Signed codes for every active resident of a building in the actor's jurisdiction,
    household by household (by unit, floor and room): a household code for the door and a
    person code per member. Returns the building's title and the households."""
    building = session.get(Building, building_id)
    if building is None or not actor.covers_path(building.area_path):
        # Outside the jurisdiction reads as absent: the id reveals nothing.
        raise NotFound(TestingErrorCode.BUILDING_NOT_FOUND, "no such building", field="building")
    compound = session.get(Compound, building.compound_id)
    title = f"{compound.name if compound else ''}{building.label}"
    issued = now or clock.now()
    rows = session.execute(
        select(
            Household.id, Household.unit, Household.room, Person.id, Person.name, Person.birth_date
        )
        .join(Household, Household.id == Person.household_id)
        .where(Household.building_id == building.id, Person.status == "active")
        .order_by(Household.unit, Household.floor, Household.room, Household.id, Person.id)
    ).all()
    doors: dict[int, list[Any]] = {}
    for row in rows:
        doors.setdefault(row[0], []).append(row)
    households = []
    for household_id, people in doors.items():
        address = f"{title} {people[0][1]}单元 {people[0][2]}室"
        members = [
            ResidentLabel(
                person_id=person_id,
                code=issue_person_code(
                    private_key=keys.signing_key,
                    key_id=keys.signing_key_id,
                    person_id=person_id,
                    household_id=household_id,
                    issued_at=issued,
                ),
                name_masked=mask_name(name),
                address=address,
            )
            for _, _, _, person_id, name, _ in people
        ]
        # A code covers MAX_MEMBERS people at most: a larger household gets several.
        for start in range(0, len(people), MAX_MEMBERS):
            part = people[start : start + MAX_MEMBERS]
            shown_by = presenter([(p[3], p[5]) for p in part], today=issued.date())
            households.append(
                HouseholdLabels(
                    household_id=household_id,
                    address=address,
                    presenter_id=shown_by,
                    code=issue_household_code(
                        private_key=keys.signing_key,
                        key_id=keys.signing_key_id,
                        presenter_id=shown_by,
                        household_id=household_id,
                        member_ids=[p[3] for p in part],
                        issued_at=issued,
                    ),
                    members=members[start : start + MAX_MEMBERS],
                )
            )
    audit.record(
        session=session,
        actor=actor,
        action="testing.registration_codes_printed",
        subject_type="building",
        subject_id=building.id,
        after={
            "people": len(rows),
            "households": len(doors),
            "key_id": keys.signing_key_id,
        },
        occurred_at=issued,
    )
    return title, households


def registration_sheet(
    *, title: str, households: Sequence[HouseholdLabels], printed_at: datetime
) -> bytes:
    """A PDF of registration labels, 21 to an A4 page, door by door: each household starts a
    new row with its household code, followed by its members' codes, and does not straddle a
    page when it fits on one, so a grid worker cuts the sheet along rows and hands each strip
    to one door."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    heading = f"核酸检测信息码 · {title}"
    canvas.setTitle(heading)
    _, page_height = A4
    slots = _door_slots(households)
    pages = max(1, max((page for page, _, _ in slots), default=0) + 1)
    page = 0
    for (slot_page, row, column), (label, household) in zip(
        slots, _labels_in_order(households), strict=True
    ):
        if slot_page != page:
            _footer(canvas, heading, printed_at, page + 1, pages)
            canvas.showPage()
            page = slot_page
        left = CODE_MARGIN_X + column * CODE_WIDTH
        top = page_height - CODE_MARGIN_Y - row * CODE_HEIGHT
        text_left = left + CODE_QR + 2 * mm
        text_width = CODE_WIDTH - CODE_QR - 4 * mm
        if label is None:
            _draw_qr(canvas, household.code, left + 1 * mm, top - CODE_QR - 2 * mm, CODE_QR)
            canvas.setFont(FONT, 11)
            canvas.drawString(text_left, top - 9 * mm, f"户码 · {len(household.members)}人")
            canvas.setFont(FONT, 7)
            names = "、".join(member.name_masked for member in household.members)
            lines = _wrap(household.address, text_width)[:2] + _wrap(names, text_width)[:2]
            for line_number, line in enumerate(lines):
                canvas.drawString(text_left, top - (15 + 4 * line_number) * mm, line)
            canvas.drawString(text_left, top - 33 * mm, "一人出示，全户采样")
            continue
        _draw_qr(canvas, label.code, left + 1 * mm, top - CODE_QR - 2 * mm, CODE_QR)
        canvas.setFont(FONT, 11)
        canvas.drawString(text_left, top - 9 * mm, label.name_masked)
        canvas.setFont(FONT, 7)
        for line_number, line in enumerate(_wrap(label.address, text_width)):
            canvas.drawString(text_left, top - (15 + 4 * line_number) * mm, line)
        canvas.drawString(text_left, top - 31 * mm, "核酸采样时出示")
    _footer(canvas, heading, printed_at, pages, pages)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _labels_in_order(
    households: Sequence[HouseholdLabels],
) -> list[tuple[ResidentLabel | None, HouseholdLabels]]:
    """The household's own label (``None``) then its members', door after door."""
    return [(label, household) for household in households for label in (None, *household.members)]


def _door_slots(households: Sequence[HouseholdLabels]) -> list[tuple[int, int, int]]:
    """(page, row, column) of every label of :func:`_labels_in_order`: each household from the
    start of a row, on a new page when its rows no longer fit on this one (and fit on a page)."""
    slots = []
    page, row = 0, 0
    for household in households:
        count = 1 + len(household.members)
        rows = -(-count // CODE_COLUMNS)
        if row and row + rows > CODE_ROWS and rows <= CODE_ROWS:
            page, row = page + 1, 0
        for index in range(count):
            if row == CODE_ROWS:
                page, row = page + 1, 0
            slots.append((page, row, index % CODE_COLUMNS))
            if index % CODE_COLUMNS == CODE_COLUMNS - 1 or index == count - 1:
                row += 1
    return slots


def tube_barcodes(*, prefix: str, start: int, count: int, digits: int = 8) -> list[str]:
    """``count`` sequential barcodes ``<prefix><number>`` from ``start``; each must be a valid
    tube barcode (4-40 of A-Z a-z 0-9 - _)."""
    if not 1 <= count <= MAX_TUBE_LABELS or start < 0:
        raise TestingError(
            TestingErrorCode.LABEL_RANGE_INVALID,
            f"print 1 to {MAX_TUBE_LABELS} labels from a number of 0 or more",
            field="count",
        )
    barcodes = [f"{prefix}{number:0{digits}d}" for number in range(start, start + count)]
    try:
        for barcode in (barcodes[0], barcodes[-1]):
            check_tube_barcode(barcode)
    except RecordRefused as refused:
        raise TestingError(refused.code, refused.message, field="prefix") from None
    return barcodes


def tube_label_sheet(*, barcodes: Sequence[str], printed_at: datetime) -> bytes:
    """A PDF of Code 128 tube labels, 48 to an A4 page, each with its number in clear text."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    heading = f"采样管条码 {barcodes[0]} – {barcodes[-1]}" if barcodes else "采样管条码"
    canvas.setTitle(heading)
    _, page_height = A4
    per_page = TUBE_COLUMNS * TUBE_ROWS
    pages = max(1, -(-len(barcodes) // per_page))
    for index, barcode in enumerate(barcodes):
        slot = index % per_page
        if slot == 0 and index:
            _footer(canvas, heading, printed_at, index // per_page, pages)
            canvas.showPage()
        left = TUBE_MARGIN_X + (slot % TUBE_COLUMNS) * TUBE_WIDTH
        top = page_height - TUBE_MARGIN_Y - (slot // TUBE_COLUMNS) * TUBE_HEIGHT
        symbol = Code128(barcode, barHeight=12 * mm, barWidth=0.3 * mm, quiet=True)
        offset = max(0.0, (TUBE_WIDTH - symbol.width) / 2)
        symbol.drawOn(canvas, left + offset, top - 14 * mm)
        canvas.setFont("Helvetica", 8)
        canvas.drawCentredString(left + TUBE_WIDTH / 2, top - 18 * mm, barcode)
    _footer(canvas, heading, printed_at, pages, pages)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code of ``text`` as dark squares, one filled rectangle per run of dark modules
    in a row, inside a white quiet zone of 4 modules (ISO/IEC 18004)."""
    modules = qr_modules(text)
    count = modules.shape[0]
    step = size / (count + 8)
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row in range(count):
        column = 0
        while column < count:
            if not modules[row, column]:
                column += 1
                continue
            start = column
            while column < count and modules[row, column]:
                column += 1
            path.rect(
                x + (start + 4) * step,
                y + size - (row + 5) * step,
                (column - start) * step,
                step,
            )
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _wrap(text: str, width: float, size: int = 7) -> list[str]:
    lines: list[str] = []
    line = ""
    for char in text:
        if pdfmetrics.stringWidth(line + char, FONT, size) > width:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    if line:
        lines.append(line)
    return lines[:3]


def _footer(canvas: Canvas, heading: str, printed_at: datetime, page: int, pages: int) -> None:
    canvas.setFont(FONT, 8)
    canvas.drawString(
        10 * mm, 6 * mm, f"{heading} · {printed_at:%Y-%m-%d %H:%M %Z} · {page}/{pages}"
    )
