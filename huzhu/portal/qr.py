"""The official-account QR code, generated from a URL at request time (never a stored image)."""

from __future__ import annotations

import re
from functools import lru_cache

import qrcode
import qrcode.image.svg
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@lru_cache(maxsize=32)
def qr_svg(data: str, *, label: str = "") -> SafeString:
    """An inline <svg> QR code for `data` (medium error correction, 2-module quiet zone)."""
    if not data:
        return mark_safe("")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    # Size comes from CSS; keep the viewBox so it scales crisply.
    svg = re.sub(r'\s(width|height)="[^"]*"', "", svg, count=2)
    svg = svg.replace(' id="qr-path"', "")
    attrs = f' class="qr" role="img" aria-label="{escape(label or data)}"'
    return mark_safe(svg.replace("<svg", "<svg" + attrs, 1))
