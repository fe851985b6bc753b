"""Checking and storing the papers members upload (invoice, settlement sheet, discharge
summary, bank card): by content, never by the file name.

- Accepted: JPEG, PNG, HEIC/HEIF (iPhone photos, through pillow-heif), PDF.
- Images are opened with Pillow, turned upright (EXIF orientation), downscaled so the long
  side is at most `MAX_IMAGE_SIDE` px and stored as JPEG: phone photos of 4-12 MB become a few
  hundred KB, and their EXIF (GPS position) is dropped.
- Limits: `MAX_UPLOAD_BYTES` per file, `MAX_IMAGE_PIXELS` per image (decompression bombs).
- Invoice QR codes (Chinese e-invoices carry one) are decoded with zxing-cpp from the full
  resolution image and parsed by `invoice_qr_parse`. PDFs are not rasterised, so a PDF
  invoice's QR is not read (the member types the number).

Files are stored in the private storage (`huzhu/core/storage.py`: `HUZHU_DOCUMENT_DIR`, default
`<VAR_DIR>/private/documents`, files 0600 in 0700 folders, or an S3-compatible bucket), outside
MEDIA_ROOT: they are personal data and are served only by views that check access.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.db import transaction

from huzhu.core.money import MoneyError, yuan_to_fen
from huzhu.core.storage import private_storage

__all__ = [
    "ACCEPTED_TEXT",
    "CheckedFile",
    "DocumentError",
    "InvoiceQr",
    "MAX_UPLOAD_BYTES",
    "document_check",
    "document_prune_pending",
    "document_store",
    "document_upload",
    "invoice_qr_parse",
    "private_storage",
]

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_IMAGE_SIDE = 2000
MAX_IMAGE_PIXELS = 60_000_000
JPEG_QUALITY = 85
ACCEPTED_TEXT = "JPG、PNG、HEIC照片或PDF文件"
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


class DocumentError(ValueError):
    """A refused upload; `code` is stable, `message` is Chinese and names the file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# The papers live in the private storage (huzhu/core/storage.py: a 0700 folder or S3).


@dataclass(frozen=True)
class InvoiceQr:
    number: str
    amount_fen: int | None = None
    issued_on: date | None = None
    code: str = ""
    raw: str = ""

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "amount_fen": self.amount_fen,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "code": self.code,
            "raw": self.raw,
        }


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    extension: str
    original_name: str
    original_size: int
    width: int | None = None
    height: int | None = None
    invoice_qr: InvoiceQr | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heif"
    return None


_DATE8_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _qr_date(text: str) -> date | None:
    text = text.strip().replace("-", "")
    m = _DATE8_RE.match(text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _qr_amount(text: str) -> int | None:
    try:
        fen = yuan_to_fen(text.strip())
    except MoneyError:
        return None
    return fen if fen >= 0 else None


def invoice_qr_parse(text: str) -> InvoiceQr | None:
    """The invoice fields a QR code carries, or None when it is not an invoice's code.

    Two layouts are read:
    - the State Taxation Administration's e-invoice code: `01,<type>,<invoice code>,<number>,
      <amount>,<YYYYMMDD>,<check>,<crc>` (fully digital invoices leave the code empty);
    - the medical (non-tax) e-receipt codes (医疗收费电子票据) that are a URL or `key=value`
      list with the receipt code/number, amount and date under common names (billcode /
      billno, money / amount / total, date / billdate / ivcdate).
    """
    raw = (text or "").strip()
    if not raw:
        return None
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) >= 6 and parts[0] == "01" and parts[3].isdigit():
        return InvoiceQr(
            number=parts[3],
            code=parts[2],
            amount_fen=_qr_amount(parts[4]),
            issued_on=_qr_date(parts[5]),
            raw=raw,
        )
    pairs = dict(
        (k.strip().lower(), v.strip())
        for k, v in re.findall(r"([A-Za-z_]+)=([^&,;\s]+)", raw.split("?", 1)[-1])
    )
    number = next((pairs[k] for k in ("billno", "invoiceno", "ivcno", "no") if k in pairs), "")
    if not number or not re.fullmatch(r"[0-9A-Za-z]{6,30}", number):
        return None
    amount = next((pairs[k] for k in ("money", "amount", "total", "amt") if k in pairs), "")
    day = next((pairs[k] for k in ("date", "billdate", "ivcdate", "ivcdt") if k in pairs), "")
    return InvoiceQr(
        number=number,
        code=next((pairs[k] for k in ("billcode", "invoicecode", "ivccode") if k in pairs), ""),
        amount_fen=_qr_amount(amount) if amount else None,
        issued_on=_qr_date(day) if day else None,
        raw=raw,
    )


def _decode_invoice_qr(image) -> InvoiceQr | None:
    try:
        import zxingcpp
    except ImportError:  # pragma: no cover - a dependency; kept optional for odd platforms
        return None
    try:
        results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    except Exception:  # noqa: BLE001 - a decoder failure must not refuse the upload
        return None
    for result in results:
        parsed = invoice_qr_parse(result.text)
        if parsed is not None:
            return parsed
    return None


def _open_image(data: bytes, name: str, kind: str):
    from PIL import Image, ImageOps, UnidentifiedImageError

    if kind == "heif":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise DocumentError(
                    "image_too_large",
                    f"“{name}”的像素过多（{image.width}×{image.height}），请用手机正常拍照后上传",
                )
            image.load()
    except DocumentError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DocumentError(
            "image_too_large", f"“{name}”的像素过多，请用手机正常拍照后上传"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DocumentError(
            "broken_image", f"“{name}”无法打开，文件可能已损坏，请重新拍照或导出后上传"
        ) from None
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        image = background
    return image


def document_check(data: bytes, *, name: str = "", read_qr: bool = False) -> CheckedFile:
    """Check an uploaded file by its content and prepare what is stored.

    Raises DocumentError with codes `empty`, `too_large`, `unsupported_type`,
    `broken_image`, `image_too_large`, `broken_pdf`, `pdf_too_large`, `pdf_encrypted`.
    """
    name = (name or "文件").strip()[-100:]
    size = len(data)
    if size == 0:
        raise DocumentError("empty", f"“{name}”是空文件，请重新选择")
    if size > MAX_UPLOAD_BYTES:
        raise DocumentError(
            "too_large",
            f"“{name}”有{_mb(size)}，超过单个文件{_mb(MAX_UPLOAD_BYTES)}的上限；"
            "请直接用手机拍照上传，或把PDF分成几份",
        )
    kind = _sniff(data[:16])
    if kind is None:
        raise DocumentError(
            "unsupported_type",
            f"“{name}”不是{ACCEPTED_TEXT}（按文件内容识别，与扩展名无关），请换一个文件",
        )
    if kind == "pdf":
        if size > MAX_PDF_BYTES:
            raise DocumentError(
                "pdf_too_large", f"PDF文件“{name}”有{_mb(size)}，超过{_mb(MAX_PDF_BYTES)}的上限"
            )
        if b"%%EOF" not in data[-2048:]:
            raise DocumentError("broken_pdf", f"PDF文件“{name}”不完整或已损坏，请重新导出后上传")
        if re.search(rb"/Encrypt\s", data):
            raise DocumentError("pdf_encrypted", f"PDF文件“{name}”设置了密码，请上传未加密的文件")
        return CheckedFile(
            content=data,
            content_type="application/pdf",
            extension="pdf",
            original_name=name,
            original_size=size,
        )
    image = _open_image(data, name, kind)
    qr = _decode_invoice_qr(image) if read_qr else None
    notes = []
    if max(image.size) > MAX_IMAGE_SIDE:
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
        notes.append("downscaled")
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return CheckedFile(
        content=out.getvalue(),
        content_type="image/jpeg",
        extension="jpg",
        original_name=name,
        original_size=size,
        width=image.width,
        height=image.height,
        invoice_qr=qr,
        notes=tuple(notes),
    )


def document_store(*, member, kind: str, checked: CheckedFile, acting_user, claim=None):
    """Save a checked file as a MemberDocument of `member` (claim optional, set when filed)."""
    from .models import MemberDocument

    doc = MemberDocument(
        member=member,
        claim=claim,
        kind=kind,
        content_type=checked.content_type,
        size=len(checked.content),
        sha256=checked.sha256,
        original_name=checked.original_name,
        width=checked.width,
        height=checked.height,
        invoice_qr=checked.invoice_qr.as_dict() if checked.invoice_qr else {},
        uploaded_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
    )
    with transaction.atomic():
        doc.file.save(f"upload.{checked.extension}", ContentFile(checked.content), save=False)
        doc.save()
    return doc


PENDING_MAX_AGE = timedelta(days=2)


def document_prune_pending(*, now=None) -> int:
    """Delete uploads never filed with a claim (an abandoned form) after `PENDING_MAX_AGE`:
    they are personal data kept for no purpose. Returns how many were deleted."""
    from django.utils import timezone

    from .models import MemberDocument

    cutoff = (now or timezone.now()) - PENDING_MAX_AGE
    stale = list(MemberDocument.objects.filter(claim__isnull=True, created_at__lt=cutoff)[:500])
    for doc in stale:
        doc.file.delete(save=False)
        doc.delete()
    return len(stale)


THUMBNAIL_PX = 360


def document_thumbnail(document, *, size: int = THUMBNAIL_PX) -> bytes:
    """A JPEG at most `size` px on its longer side of a stored image paper (for the review
    page's thumbnails; stored papers are already upright and stripped of metadata)."""
    from PIL import Image

    with document.file.open("rb") as fh, Image.open(fh) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=75)
    return out.getvalue()


def document_upload(*, member, kind: str, data: bytes, name: str, acting_user):
    """Check one uploaded file by content and keep it for the member (not yet on a claim).

    Raises StepRefused (`field` = the kind, code = the DocumentError's) for a bad file.
    """
    from huzhu.core.errors import StepRefused

    from .models import DocumentKind

    if kind not in DocumentKind.values:
        raise StepRefused("bad_kind", f"未知的材料类型“{kind}”", field="kind")
    try:
        checked = document_check(data, name=name, read_qr=(kind == DocumentKind.INVOICE))
    except DocumentError as exc:
        raise StepRefused(exc.code, exc.message, field=kind) from None
    document_prune_pending()
    return document_store(member=member, kind=kind, checked=checked, acting_user=acting_user)
