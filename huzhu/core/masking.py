"""Masks for personal data in lists (domain.md: `330683********1234`)."""


def mask_id_number(id_number: str) -> str:
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_account(last4: str) -> str:
    return "**** **** **** " + last4


def mask_phone(phone: str) -> str:
    """`138****1234`; shorter values entirely starred."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
