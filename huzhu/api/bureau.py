"""`POST /api/bureau/settlements`: the medical-insurance bureau pushes settlement records.

Signed with an API key of kind `source` (`huzhu api-key create --source NAME`), see
`huzhu.api.keys` (signing string: timestamp, method, path and raw body). The body is `{"batch_id": "...", "records": [{...}, ...]}` with domain.md's
field names (or the national platform's) and amounts as yuan strings. The same batch_id with
the same body gets the same answer and changes nothing; with another body it is refused (409).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from ninja import Field, Router, Schema, Status

from huzhu.claims.models import Claim
from huzhu.core.money import fen_to_yuan
from huzhu.settlements.frames import printable
from huzhu.settlements.models import SettlementRecord, SettlementRowProblem
from huzhu.settlements.services import ImportRefused, settlement_import_records

from .models import ApiKey, ApiKeyKind, PushRequest
from .signing import HuzhuSignature

__all__ = ["router", "bureau_push_receive"]

router = Router(tags=["bureau"])


# A record's values are flat (text, numbers, booleans, null): nothing nests.
RecordValue = str | int | float | bool | None


class PushBody(Schema):
    batch_id: str = Field(
        ...,
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00]+$",
        description="推送批次号，幂等键（不含NUL字符）",
    )
    records: list[dict[str, RecordValue]] = Field(
        ...,
        min_length=1,
        max_length=50_000,
        description="结算记录（字段名同 domain.md，金额为元字符串）；含NUL字符的记录为无效记录",
    )


class PushAnswer(Schema):
    batch_id: str
    settlement_batch: int
    summary: dict[str, Any]
    records: list[dict[str, Any]]


class PushRefusal(Schema):
    detail: str
    code: str = ""


def _record_answers(batch_id: int, records: list[dict]) -> list[dict]:
    # As the import stores them: a NUL character (a refused row's) cannot be stored or sent.
    sids = [
        printable(str(r.get("settlement_id") or r.get("setl_id") or "").strip()) for r in records
    ]
    stored = {
        r.row_number: r
        for r in SettlementRecord.objects.filter(batch_id=batch_id).only(
            "row_number", "settlement_id", "status", "reason", "review_reason"
        )
    }
    problems = {p.row_number: p for p in SettlementRowProblem.objects.filter(batch_id=batch_id)}
    claims: dict[str, list[dict]] = {}
    for c in Claim.objects.filter(settlement_id__in=[s for s in sids if s]).order_by("id"):
        claims.setdefault(c.settlement_id, []).append(
            {
                "number": c.number,
                "benefit": c.benefit_code,
                "status": c.status,
                "amount": fen_to_yuan(c.amount_fen) if c.amount_fen is not None else None,
            }
        )
    out = []
    for i, sid in enumerate(sids, start=1):
        if i in stored:
            r = stored[i]
            out.append(
                {
                    "row": i,
                    "settlement_id": sid,
                    "status": r.status,
                    "reason": r.review_reason or r.reason,
                    "claims": claims.get(sid, []),
                }
            )
        elif i in problems:
            p = problems[i]
            out.append(
                {
                    "row": i,
                    "settlement_id": sid,
                    "status": "invalid",
                    "reason": p.reason,
                    "claims": [],
                }
            )
        else:
            out.append(
                {
                    "row": i,
                    "settlement_id": sid,
                    "status": "duplicate",
                    "reason": "该结算记录已导入，不重复处理",
                    "claims": claims.get(sid, []),
                }
            )
    return out


def bureau_push_receive(
    *, key: ApiKey, raw_body: bytes, batch_id: str, records: list[dict]
) -> tuple[int, dict]:
    """Import a pushed batch once per (source, batch_id). Returns (HTTP status, answer)."""
    digest = hashlib.sha256(raw_body).hexdigest()
    scope = {"kind": key.kind, "owner_code": key.owner_code, "batch_id": batch_id}
    seen = PushRequest.objects.filter(**scope).first()
    if seen is not None:
        if seen.body_sha256 == digest:
            return seen.status_code, seen.response
        return 409, {"detail": f"批次号 {batch_id} 已用于另一批内容", "code": "batch_id_reused"}
    try:
        with transaction.atomic():
            result = settlement_import_records(
                records=records,
                name=f"push:{batch_id}"[:255],
                checksum=digest,
                source=key.owner_code,
            )
            answer = {
                "batch_id": batch_id,
                "settlement_batch": result.batch.pk,
                "summary": result.summary,
                "records": _record_answers(result.batch.pk, records),
            }
            PushRequest.objects.create(
                **scope,
                body_sha256=digest,
                api_key=key,
                status_code=200,
                response=answer,
                settlement_batch=result.batch,
            )
    except ImportRefused as exc:
        return 422, {"detail": exc.message, "code": exc.code}
    except IntegrityError:
        # The same batch arrived twice at once: the other request's answer stands.
        seen = PushRequest.objects.filter(**scope).first()
        if seen is not None and seen.body_sha256 == digest:
            return seen.status_code, seen.response
        return 409, {"detail": f"批次号 {batch_id} 已用于另一批内容", "code": "batch_id_reused"}
    return 200, answer


@router.post(
    "/settlements",
    auth=HuzhuSignature(ApiKeyKind.SOURCE),
    response={200: PushAnswer, 401: PushRefusal, 409: PushRefusal, 422: PushRefusal},
    summary="医保局推送结算记录（免申即享）",
)
def push_settlements(request, payload: PushBody):
    status, answer = bureau_push_receive(
        key=request.auth, raw_body=request.body, batch_id=payload.batch_id, records=payload.records
    )
    return Status(status, answer)
