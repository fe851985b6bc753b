"""Small test files: photos (optionally with an invoice QR code), a PNG, a minimal PDF."""

import io


def jpeg_bytes(size=(800, 600), color=(200, 30, 30), qr_text: str | None = None) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, color)
    if qr_text:
        import qrcode

        qr = qrcode.make(qr_text, box_size=8, border=4).get_image().convert("RGB")
        image.paste(qr, (20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def png_bytes(size=(400, 300)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", size, (0, 100, 0, 128)).save(out, "PNG")
    return out.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
