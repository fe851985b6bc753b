"""ID numbers and phones in bulk: the stored columns of many members at once, and look-ups of
many ID numbers through their blind indexes (huzhu.core.crypto, docs/security.md).

One member at a time, use the `Member.id_number` / `Member.phone` properties and
`id_number_q` / `phone_q` (huzhu.members.models).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from huzhu.core.crypto import blind_index_many, encrypt_text_many, field_keys
from huzhu.core.masking import mask_id_number, mask_phone

__all__ = ["PERSONAL_COLUMNS", "id_number_index_map", "members_by_id_number", "personal_values"]

# The Member columns `personal_values` fills, in its order.
PERSONAL_COLUMNS = (
    "id_number_encrypted",
    "id_number_hash",
    "id_number_masked",
    "phone_encrypted",
    "phone_hash",
    "phone_masked",
)


def personal_values(id_numbers: Sequence[str], phones: Sequence[str]) -> list[tuple]:
    """For each member (normalised ID number, phone or ""): the six PERSONAL_COLUMNS values,
    encrypted in batches (`encrypt_text_many`) and indexed under the current key."""
    id_tokens = encrypt_text_many(list(id_numbers))
    id_hashes = blind_index_many("id_number", id_numbers)
    given = [p for p in phones if p]
    phone_tokens = iter(encrypt_text_many(given))
    phone_hashes = iter(blind_index_many("phone", given))
    out = []
    for number, phone, token, digest in zip(id_numbers, phones, id_tokens, id_hashes, strict=True):
        out.append(
            (
                token,
                digest,
                mask_id_number(number),
                next(phone_tokens) if phone else "",
                next(phone_hashes) if phone else "",
                mask_phone(phone) if phone else "",
            )
        )
    return out


def id_number_index_map(id_numbers: Iterable[str]) -> dict[str, str]:
    """{blind index: ID number} for every given number under every configured key: look the
    keys up in `id_number_hash`, map the rows found back to the numbers."""
    numbers = list(dict.fromkeys(id_numbers))
    out: dict[str, str] = {}
    for key in field_keys():
        out.update(zip(blind_index_many("id_number", numbers, field_key=key), numbers, strict=True))
    return out


def members_by_id_number(id_numbers: Iterable[str], queryset=None) -> dict[str, object]:
    """{ID number: Member} for the given numbers that are registered (one query)."""
    from .models import Member

    index = id_number_index_map(id_numbers)
    qs = Member.objects.all() if queryset is None else queryset
    return {index[m.id_number_hash]: m for m in qs.filter(id_number_hash__in=list(index))}
