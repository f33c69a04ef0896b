"""A token as an inline SVG QR code, drawn on the server (no script on the phone)."""

from __future__ import annotations

import numpy as np
import zxingcpp

QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks


def svg(text: str, *, size_px: int = 240, label: str = "") -> str:
    """An ``<svg>`` element (error correction M) ``size_px`` wide, one path of dark modules."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128
    side = modules.shape[0] + 2 * QUIET_ZONE
    rows, cols = np.nonzero(modules)
    path = "".join(
        f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h1v1h-1z" for r, c in zip(rows, cols, strict=True)
    )
    title = f"<title>{_escape(label)}</title>" if label else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img" width="{size_px}" '
        f'height="{size_px}" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'{title}<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
