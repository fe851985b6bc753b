"""Field-key rotation (`huzhu rotate-keys`): every stored ciphertext re-written under
HUZHU_FIELD_KEY and every blind index re-computed with the index key derived from it, while
the previous key (HUZHU_FIELD_OLD_KEYS) is still read. docs/security.md has the procedure.

Batched and resumable: rows are taken in primary-key order, a batch at a time, each batch in
its own transaction with its rows locked (PostgreSQL), so a stopped run keeps what it did
and a second run goes on; a row already under the current key with current indexes is
left alone (the command is idempotent). Values no configured key can read are counted and
left as they are (the summary lists their ids).

Models are named, not imported (`apps.get_model`): ops imports no domain app here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction

from huzhu.core.bulk import bulk_update_rows
from huzhu.core.crypto import (
    blind_index_many,
    current_key_flags,
    decrypt_text_many,
    encrypt_text_many,
)

__all__ = ["ENCRYPTED", "RotationResult", "rotate_keys"]


@dataclass(frozen=True)
class Encrypted:
    """One model's encrypted columns, and its blind indexes: (index column, kind, the
    ciphertext column it indexes)."""

    model: str
    tokens: tuple[str, ...]
    indexes: tuple[tuple[str, str, str], ...] = ()


# Every ciphertext the project stores (grep `encrypt_text` when adding one).
ENCRYPTED = (
    Encrypted(
        "members.Member",
        ("id_number_encrypted", "phone_encrypted", "bank_account_encrypted"),
        (
            ("id_number_hash", "id_number", "id_number_encrypted"),
            ("phone_hash", "phone", "phone_encrypted"),
        ),
    ),
    # A record linked to a member stores no ciphertext: its index is re-computed from the
    # member's number (rotated before it).
    Encrypted(
        "settlements.SettlementRecord",
        ("id_number_encrypted",),
        (("id_number_hash", "id_number", "id_number_encrypted"),),
    ),
    # Member logins and SMS codes store the phone as members do.
    Encrypted(
        "organizations.User",
        ("phone_encrypted",),
        (("phone_hash", "phone", "phone_encrypted"),),
    ),
    Encrypted(
        "members.SmsCode",
        ("phone_encrypted",),
        (("phone_hash", "phone", "phone_encrypted"),),
    ),
    Encrypted("hospitals.Hospital", ("bank_account_encrypted",)),
    Encrypted("api.ApiKey", ("secret_encrypted",)),
    Encrypted("payments.PaymentRow", ("account_encrypted",)),
)


@dataclass
class RotationResult:
    tables: dict[str, dict] = field(default_factory=dict)

    @property
    def unreadable(self) -> int:
        return sum(t["unreadable"] for t in self.tables.values())

    def summary(self) -> dict:
        return {"tables": self.tables, "unreadable": self.unreadable}


def rotate_keys(
    *, batch_size: int = 2000, progress: Callable[[str, int, int], None] | None = None
) -> RotationResult:
    result = RotationResult()
    for spec in ENCRYPTED:
        result.tables[spec.model] = _rotate_model(spec, batch_size, progress)
    return result


def _rotate_model(spec: Encrypted, batch_size: int, progress) -> dict:
    model = apps.get_model(spec.model)
    columns = [*spec.tokens, *(index for index, _kind, _source in spec.indexes)]
    linked = spec.model == "settlements.SettlementRecord"
    fetch = ["pk", *columns, *(["member_id"] if linked else [])]
    stats = {"rows": 0, "rewritten": 0, "unreadable": 0, "unreadable_ids": []}
    last = None
    while True:
        with transaction.atomic():
            qs = model.objects.order_by("pk")
            if last is not None:
                qs = qs.filter(pk__gt=last)
            rows = list(qs.select_for_update().values_list(*fetch)[:batch_size])
            if not rows:
                break
            last = rows[-1][0]
            updates = _batch_updates(spec, rows, columns, linked, stats)
            if updates:
                bulk_update_rows(model, columns, updates)
            stats["rows"] += len(rows)
            stats["rewritten"] += len(updates)
        if progress is not None:
            progress(spec.model, stats["rows"], stats["rewritten"])
    stats["unreadable_ids"] = stats["unreadable_ids"][:20]
    return stats


def _batch_updates(spec, rows, columns, linked, stats) -> list[tuple]:
    """[(pk, new values of `columns`)] for the rows of one batch that need rewriting."""
    n = len(spec.tokens)
    clear: list[list[str | None]] = []  # per token column: the clear values ("" when empty)
    current: list[list[bool]] = []
    for c in range(n):
        tokens = [r[1 + c] or "" for r in rows]
        given = [t for t in tokens if t]
        values = iter(decrypt_text_many(given))
        flags = iter(current_key_flags(given))
        clear.append([next(values) if t else "" for t in tokens])
        current.append([next(flags) if t else True for t in tokens])
    if linked:  # records without a ciphertext: the member's number
        _fill_from_members(rows, clear[0])
    bad = set()
    for c in range(n):
        for i, value in enumerate(clear[c]):
            if value is None:
                bad.add(i)
    indexes = []
    for _index, kind, source in spec.indexes:
        c = spec.tokens.index(source)
        values = [v or "" for v in clear[c]]
        computed = blind_index_many(kind, values)
        indexes.append([h if v else "" for h, v in zip(computed, values, strict=True)])
    fresh_tokens = []
    for c in range(n):
        stale = [i for i in range(len(rows)) if not current[c][i] and i not in bad]
        tokens = dict(zip(stale, encrypt_text_many([clear[c][i] for i in stale]), strict=True))
        fresh_tokens.append(tokens)
    updates = []
    for i, row in enumerate(rows):
        if i in bad:
            stats["unreadable"] += 1
            stats["unreadable_ids"].append(row[0])
            continue
        new = [fresh_tokens[c].get(i, row[1 + c] or "") for c in range(n)]
        new += [indexes[k][i] for k in range(len(spec.indexes))]
        if new != [v or "" for v in row[1 : 1 + len(columns)]]:
            updates.append((row[0], new))
    return updates


def _fill_from_members(rows, clear: list) -> None:
    Member = apps.get_model("members.Member")
    member_of = {i: r[-1] for i, r in enumerate(rows) if not r[1] and r[-1] is not None}
    if not member_of:
        return
    tokens = dict(
        Member.objects.filter(pk__in=set(member_of.values())).values_list(
            "pk", "id_number_encrypted"
        )
    )
    ids = list(tokens)
    values = dict(zip(ids, decrypt_text_many([tokens[k] for k in ids]), strict=True))
    for i, member_id in member_of.items():
        clear[i] = values.get(member_id)
