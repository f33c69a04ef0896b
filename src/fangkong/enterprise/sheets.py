"""The printable PDF sheet of passes: eight cards to an A4 page, each with its QR code.

Text is set in STSong-Light, a CJK font that PDF readers supply themselves (reportlab ships its
metrics), so no font file is downloaded. QR codes are written as inline 1-bit images straight
into the page stream: an image object per code was several times slower, most of the time
spent re-encoding the images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import zxingcpp
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

# reportlab's ASCII85 encoder is pure Python when its C accelerator is absent and took most of
# the time on large sheets; streams are written binary (still zlib-compressed) instead.
rl_config.useA85 = 0

FONT = "STSong-Light"
# The cards are printed for checkpoints in China, so their labels are Chinese.
WHITELIST_TITLE = "复工复产白名单卡"
FREIGHT_TITLE = "货车通行证"
COLUMNS, ROWS = 2, 4
CARD_WIDTH, CARD_HEIGHT = 95 * mm, 68 * mm
MARGIN_X, MARGIN_Y = 10 * mm, 12 * mm
QR_SIZE = 52 * mm
TEXT_WIDTH = CARD_WIDTH - QR_SIZE - 7 * mm
QUIET_ZONE = 4  # modules of white around a QR code (ISO/IEC 18004)


@dataclass(frozen=True)
class PassCard:
    """What one card shows: the token in its QR code and the lines printed beside it."""

    token: str
    title: str
    lines: tuple[str, ...]


def qr_modules(token: str) -> np.ndarray:
    """The dark modules of ``token``'s QR code (error correction M) as a boolean matrix.

    A fixed data mask skips the evaluation of all eight masks, which is most of the encoding
    time; any mask reads back the same (the tests decode what is drawn).
    """
    barcode = zxingcpp.create_barcode(
        token, zxingcpp.BarcodeFormat.QRCode, ec_level="M", options="ecLevel=M,dataMask=3"
    )
    image = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    return np.asarray(image < 128)


def _qr_stream(modules: np.ndarray, x: float, y: float, size: float) -> str:
    """An inline 1-bit image of the code (with its quiet zone), scaled to ``size`` points.

    Hex-encoded (``/AHx``) so the page stream stays text; page compression then shrinks it.
    """
    side = modules.shape[0] + 2 * QUIET_ZONE
    light = np.ones((side, side), dtype=bool)
    light[QUIET_ZONE:-QUIET_ZONE, QUIET_ZONE:-QUIET_ZONE] = ~modules
    data = np.packbits(light, axis=1).tobytes().hex()
    return (
        f"q {size:.2f} 0 0 {size:.2f} {x:.2f} {y:.2f} cm\n"
        f"BI /W {side} /H {side} /BPC 1 /CS /G /I false /F /AHx\nID\n{data}>\nEI Q"
    )


def render(*, cards: Sequence[PassCard], heading: str, printed_at: datetime) -> bytes:
    """A PDF with every card, in order; ``heading`` and ``printed_at`` go in each page's footer."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(heading)
    _, page_height = A4
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(cards) // per_page))
    for index, card in enumerate(cards):
        slot = index % per_page
        if slot == 0 and index:
            _footer(canvas, heading, printed_at, index // per_page, pages)
            canvas.showPage()
        left = MARGIN_X + (slot % COLUMNS) * CARD_WIDTH
        top = page_height - MARGIN_Y - (slot // COLUMNS) * CARD_HEIGHT
        canvas.setLineWidth(0.3)
        canvas.rect(left, top - CARD_HEIGHT, CARD_WIDTH - 2 * mm, CARD_HEIGHT - 2 * mm)
        canvas.addLiteral(
            _qr_stream(qr_modules(card.token), left + 1 * mm, top - QR_SIZE - 6 * mm, QR_SIZE)
        )
        canvas.setFont(FONT, 12)
        canvas.drawString(left + QR_SIZE + 3 * mm, top - 10 * mm, card.title)
        canvas.setFont(FONT, 8)
        for line_number, line in enumerate(card.lines):
            canvas.drawString(
                left + QR_SIZE + 3 * mm, top - (17 + 5 * line_number) * mm, _fit(line, TEXT_WIDTH)
            )
    _footer(canvas, heading, printed_at, pages, pages)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _fit(line: str, width: float, size: int = 8) -> str:
    """``line`` cut (with an ellipsis) to fit ``width`` points: long names must not run into
    the next card."""
    if pdfmetrics.stringWidth(line, FONT, size) <= width:
        return line
    while line and pdfmetrics.stringWidth(line + "…", FONT, size) > width:
        line = line[:-1]
    return line + "…"


def _footer(canvas: Canvas, heading: str, printed_at: datetime, page: int, pages: int) -> None:
    canvas.setFont(FONT, 8)
    canvas.drawString(
        MARGIN_X, 6 * mm, f"{heading} · {printed_at:%Y-%m-%d %H:%M %Z} · {page}/{pages}"
    )
