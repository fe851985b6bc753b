"""Uploaded papers are checked by content, downscaled, and invoice QR codes are read."""

import io

import pytest
from PIL import Image

from huzhu.members.documents import (
    MAX_UPLOAD_BYTES,
    DocumentError,
    document_check,
    invoice_qr_parse,
)
from tests.member_pages.images import PDF_BYTES, jpeg_bytes, png_bytes


def test_jpeg_is_reencoded_as_jpeg():
    checked = document_check(jpeg_bytes(), name="发票.jpg")
    assert checked.content_type == "image/jpeg"
    assert (checked.width, checked.height) == (800, 600)
    assert checked.content[:3] == b"\xff\xd8\xff"


def test_png_with_transparency_becomes_jpeg():
    checked = document_check(png_bytes(), name="结算单.png")
    assert checked.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(checked.content)).mode == "RGB"


def test_heic_photo_is_read_through_pillow_heif():
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(out, "HEIF")
    checked = document_check(out.getvalue(), name="IMG_0001.HEIC")
    assert checked.content_type == "image/jpeg"
    assert (checked.width, checked.height) == (640, 480)


def test_phone_photo_is_downscaled_to_2000px_long_side():
    big = jpeg_bytes(size=(4032, 3024))
    checked = document_check(big, name="photo.jpg")
    assert (checked.width, checked.height) == (2000, 1500)
    assert "downscaled" in checked.notes
    assert len(checked.content) < len(big)


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (300, 100), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    checked = document_check(out.getvalue(), name="x.jpg")
    assert (checked.width, checked.height) == (100, 300)


def test_pdf_is_kept_as_is():
    checked = document_check(PDF_BYTES, name="出院小结.pdf")
    assert checked.content_type == "application/pdf"
    assert checked.content == PDF_BYTES


@pytest.mark.parametrize(
    "data, name, code",
    [
        (b"", "a.jpg", "empty"),
        (b"this is a text file, not a photo", "invoice.jpg", "unsupported_type"),
        (b"MZ\x90\x00" + b"\x00" * 100, "scan.pdf", "unsupported_type"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "broken.jpg", "broken_image"),
        (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "cut.pdf", "broken_pdf"),
        (b"%PDF-1.4\n/Encrypt 5 0 R\n%%EOF\n", "locked.pdf", "pdf_encrypted"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(data, name, code):
    with pytest.raises(DocumentError) as exc:
        document_check(data, name=name)
    assert exc.value.code == code
    assert f"“{name}”" in exc.value.message


def test_type_message_says_content_not_extension_decides():
    with pytest.raises(DocumentError) as exc:
        document_check(b"GIF89a" + b"\x00" * 50, name="card.jpg")
    assert "按文件内容识别" in exc.value.message
    assert "JPG、PNG、HEIC照片或PDF文件" in exc.value.message


def test_too_large_file_names_its_size_and_the_limit():
    data = b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES
    with pytest.raises(DocumentError) as exc:
        document_check(data, name="huge.jpg")
    assert exc.value.code == "too_large"
    assert "15.0 MB" in exc.value.message and "“huge.jpg”有15.0 MB" in exc.value.message


def test_invoice_qr_on_a_photo_is_decoded():
    text = "01,10,033002100111,03456789,3456.78,20260312,12345678901234567890,ABCD"
    checked = document_check(
        jpeg_bytes(size=(1200, 900), qr_text=text), name="发票.jpg", read_qr=True
    )
    assert checked.invoice_qr is not None
    assert checked.invoice_qr.number == "03456789"
    assert checked.invoice_qr.amount_fen == 345678
    assert checked.invoice_qr.issued_on.isoformat() == "2026-03-12"


def test_photo_without_qr_has_no_invoice_data():
    assert document_check(jpeg_bytes(), name="x.jpg", read_qr=True).invoice_qr is None


@pytest.mark.parametrize(
    "text, number, amount, day",
    [
        (
            "01,32,,26332000000123456789,1200.00,20260105,,A1B2",
            "26332000000123456789",
            120000,
            "2026-01-05",
        ),
        (
            "http://www.zjzwfw.gov.cn/pj?billcode=33060126&billno=0012345678&money=888.50&date=20260220",
            "0012345678",
            88850,
            "2026-02-20",
        ),
    ],
)
def test_invoice_qr_layouts(text, number, amount, day):
    qr = invoice_qr_parse(text)
    assert (qr.number, qr.amount_fen, qr.issued_on.isoformat()) == (number, amount, day)


@pytest.mark.parametrize("text", ["", "hello world", "https://weixin.qq.com/r/abc", "01,10,x"])
def test_other_qr_codes_are_not_invoices(text):
    assert invoice_qr_parse(text) is None
