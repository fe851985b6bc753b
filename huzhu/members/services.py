"""Writes of the member registry: an operator's corrections and audited reveals."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.core.masking import mask_account, mask_id_number, mask_phone
from huzhu.organizations.selectors import union_visible_ids

from .fields import (
    FieldError,
    normalize_bank_account,
    normalize_bank_name,
    normalize_name,
    normalize_phone,
)
from .idnumbers import IdNumberError, normalize_id_number
from .models import Member, id_number_q

__all__ = ["EDITABLE_FIELDS", "REVEALABLE_FIELDS", "member_reveal", "member_update"]

EDITABLE_FIELDS = ("name", "id_number", "phone", "bank_name", "bank_account")
REVEALABLE_FIELDS = ("id_number", "phone", "bank_account")
# The columns behind each field that a save writes.
_STORED = {
    "bank_account": ["bank_account_encrypted", "bank_account_last4"],
    "id_number": ["id_number_encrypted", "id_number_hash", "id_number_masked"],
    "phone": ["phone_encrypted", "phone_hash", "phone_masked"],
}


def _check_scope(member, acting_user) -> None:
    visible = union_visible_ids(acting_user)
    if visible is not None and member.union_id not in visible:
        raise PermissionDenied("not your union")


def _normalized(field: str, value) -> str:
    if field == "name":
        return normalize_name(value)
    if field == "id_number":
        return normalize_id_number(value)
    if field == "phone":
        return normalize_phone(value)
    if field == "bank_name":
        return normalize_bank_name(value)
    return normalize_bank_account(value)


def _audit_value(field: str, value: str) -> str:
    """What the audit trail keeps of a value: personal numbers masked, as lists show them."""
    if field == "bank_account":
        return mask_account(value[-4:]) if value else ""
    if field == "id_number":
        return mask_id_number(value)
    if field == "phone":
        return mask_phone(value) if value else ""
    return value


def member_update(*, member, acting_user, **changes) -> Member:
    """Correct a member's details (name, id_number, phone, bank_name, bank_account).

    Values are normalised like the import does; invalid ones raise ValidationError keyed
    by field (codes as in the import: `bad_phone`, `bad_check_digit`, ...). An ID number
    correction re-derives sex and birth date and must stay unique. Audited before -> after
    (changed fields only; the bank account masked). Nothing changed -> nothing written.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"member_update() cannot change {', '.join(sorted(unknown))}")
    _check_scope(member, acting_user)
    clean: dict[str, str] = {}
    errors: dict[str, ValidationError] = {}
    for field, value in changes.items():
        try:
            clean[field] = _normalized(field, value)
        except (FieldError, IdNumberError) as exc:
            code = "missing_id_number" if getattr(exc, "code", "") == "empty" else exc.code
            errors[field] = ValidationError(exc.message, code=code)
    if "id_number" in clean and not errors:
        clash = Member.objects.filter(id_number_q(clean["id_number"])).exclude(pk=member.pk)
        if clash.exists():
            errors["id_number"] = ValidationError(
                "该身份证号已属于另一名职工", code="id_number_taken"
            )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        before: dict[str, str] = {}
        after: dict[str, str] = {}
        for field, value in clean.items():
            old = locked.bank_account if field == "bank_account" else getattr(locked, field)
            if old == value:
                continue
            before[field] = _audit_value(field, old)
            after[field] = _audit_value(field, value)
            setattr(locked, field, value)
        if not after:
            return locked
        update_fields = ["updated_at"]
        for field in after:
            if field in _STORED:
                update_fields += _STORED[field]
            if field == "id_number":
                update_fields += ["sex", "birth_date"]
                number = locked.id_number
                locked.sex = "male" if int(number[16]) % 2 else "female"
                locked.birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            elif field not in _STORED:
                update_fields.append(field)
        locked.save(update_fields=update_fields)
        audit_record(
            actor=acting_user, action="member.update", obj=locked, before=before, after=after
        )
    return locked


def member_reveal(*, member, field: str, acting_user) -> str:
    """The clear `id_number`, `phone` or `bank_account` of a member; writes an audit event
    "reveal" (who, whose, which field; never the value)."""
    if field not in REVEALABLE_FIELDS:
        raise ValueError(f"cannot reveal {field!r}")
    _check_scope(member, acting_user)
    value = getattr(member, field)
    audit_record(actor=acting_user, action="reveal", obj=member, after={"field": field})
    return value
