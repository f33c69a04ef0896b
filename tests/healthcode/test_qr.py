"""The QR drawn on the code page reads back as the token it was drawn from."""

from __future__ import annotations

import re

import numpy as np
import zxingcpp

from fangkong.healthcode import qr

TOKEN = "FK1." + "eyJ2IjoxLCJrIjoiZGV2In0" * 8 + ".c2lnbmF0dXJl" * 7


def test_the_svg_decodes_to_the_token() -> None:
    drawn = qr.svg(TOKEN, label="green")
    side = int(re.search(r'viewBox="0 0 (\d+) \1"', drawn).group(1))  # type: ignore[union-attr]
    image = np.full((side, side), 255, dtype=np.uint8)
    for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", drawn):
        image[int(y), int(x)] = 0
    scaled = np.kron(image, np.ones((4, 4), dtype=np.uint8))

    found = zxingcpp.read_barcodes(scaled, formats=zxingcpp.BarcodeFormat.QRCode)

    assert [barcode.text for barcode in found] == [TOKEN]
    assert "<title>green</title>" in drawn
