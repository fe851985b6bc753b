"""Encrypted personal values on a model, with their blind index (docs/security.md).

A value such as a phone is stored in three columns: `<name>_encrypted` (Fernet token),
`<name>_hash` (the keyed blind index, huzhu.core.crypto.blind_index) and, when the model
has one, `<name>_masked` (what lists show). `sealed_property` is the attribute people read
and write (`obj.phone`); `SealedQuerySet` answers `filter(phone=…)` / `phone__in=[…]` / `get` /
`exclude` through the index under every configured key. Member, the member logins (User)
and the SMS codes share these, so they store and look up a phone the same way.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .crypto import blind_index, blind_indexes, decrypt_text, encrypt_text
from .masking import mask_id_number, mask_phone

__all__ = ["SealedQuerySet", "sealed_index_values", "sealed_property", "sealed_q"]

_MASKS = {"id_number": mask_id_number, "phone": mask_phone}


def sealed_q(kind: str, value: str, prefix: str = "") -> Q:
    """The condition "`kind` is `value`" (normalised) on a model with `<kind>_hash`, or
    through a relation (`prefix="member__"`): its blind index under any configured key."""
    return Q(**{f"{prefix}{kind}_hash__in": blind_indexes(kind, value)})


def sealed_index_values(kind: str, lookup: str, value) -> list[str]:
    values = [value] if lookup in ("", "exact") else list(value)
    # An empty value is stored as an empty index (none given), not as the index of "".
    return [h for v in values for h in (blind_indexes(kind, v) if v else [""])]


class SealedQuerySet(models.QuerySet):
    """`filter(<field>=…)`, `<field>__in=[…]` (and `get`, `exclude`) for the fields named in
    `sealed_fields` are answered through their blind index; other lookups on them (ranges,
    `startswith`…) are refused: the columns hold ciphertext."""

    sealed_fields: tuple[str, ...] = ()

    def _filter_or_exclude(self, negate, args, kwargs):
        rewritten = {}
        for key, value in kwargs.items():
            field, _, lookup = key.partition("__")
            if field in self.sealed_fields:
                if lookup not in ("", "exact", "in"):
                    raise TypeError(
                        f"{self.model.__name__}.{field} is encrypted: look it up exactly "
                        f"(=, __in), or use {field}_masked for its visible parts"
                    )
                rewritten[f"{field}_hash__in"] = sealed_index_values(field, lookup, value)
            else:
                rewritten[key] = value
        return super()._filter_or_exclude(negate, args, rewritten)


def sealed_property(kind: str, *, masked: bool = True, doc: str = "") -> property:
    """`obj.<kind>`: the clear value, decrypted once per ciphertext; setting it writes the
    token, the index under the current key and (`masked`) the masked form."""
    encrypted, index, mask_column, cache = (
        f"{kind}_encrypted",
        f"{kind}_hash",
        f"{kind}_masked",
        f"_{kind}_clear",
    )
    mask = _MASKS[kind]

    def getter(self) -> str:
        token = getattr(self, encrypted)
        cached = self.__dict__.get(cache)
        if cached is not None and cached[0] == token:
            return cached[1]
        value = decrypt_text(token) if token else ""
        self.__dict__[cache] = (token, value)
        return value

    def setter(self, value: str) -> None:
        value = (value or "").strip()
        token = encrypt_text(value) if value else ""
        setattr(self, encrypted, token)
        setattr(self, index, blind_index(kind, value) if value else "")
        if masked:
            setattr(self, mask_column, mask(value) if value else "")
        self.__dict__[cache] = (token, value)

    return property(getter, setter, doc=doc or f"The clear {kind} (stored encrypted).")
