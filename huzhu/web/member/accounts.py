"""Member logins: a phone verified by SMS code, bound once to a member by name + ID number.

A member's login is a `User` with role `member`, no usable password, `phone` set, no union
(a union on the User would widen `union_visible_ids` to the whole union), linked through
`Member.user`. Pages and the API both call these functions.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from huzhu.audit.services import audit_record
from huzhu.members.fields import FieldError, normalize_name
from huzhu.members.idnumbers import IdNumberError, normalize_id_number
from huzhu.members.models import Member
from huzhu.organizations.models import Role, User

__all__ = ["MemberAppError", "member_bind", "member_of_user", "member_user_for_phone"]


class MemberAppError(ValueError):
    """A refused member-app step; `code` is stable, `message` Chinese, `field` the input."""

    def __init__(self, code: str, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.claim = None  # a claim the message refers to (e.g. the auto-claim of the stay)


def member_of_user(user) -> Member | None:
    """The member a logged-in member user is bound to, else None."""
    if not (user and user.is_authenticated and getattr(user, "role", None) == Role.MEMBER):
        return None
    return Member.objects.select_related("union").filter(user_id=user.pk).first()


def member_user_for_phone(phone: str) -> User | None:
    """The active member login already bound for this (normalised) phone, if any."""
    return (
        User.objects.filter(role=Role.MEMBER, phone=phone, is_active=True, member__isnull=False)
        .order_by("id")
        .first()
    )


def _masked_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def _stored_name(name: str) -> str:
    try:
        return normalize_name(name)
    except FieldError:  # a registry name the import would refuse today: compare as stored
        return (name or "").strip()


NO_MATCH = "姓名与身份证号不匹配，或您尚未由所在工会登记参加互助。请核对后重试，或联系所在工会。"


def member_bind(*, phone: str, name: str, id_number: str) -> User:
    """Bind a verified phone to the member with this name and ID number; returns the login.

    The same message answers "no such ID number" and "wrong name" (no probing of who is
    registered). A member already bound to another phone is refused (the union changes it);
    binding again from the same phone returns the existing login. Audited `member.bind`.
    """
    try:
        number = normalize_id_number(id_number)
    except IdNumberError as exc:
        raise MemberAppError(f"id_number.{exc.code}", exc.message, field="id_number") from None
    try:
        clean_name = normalize_name(name)
    except FieldError as exc:
        raise MemberAppError(exc.code, exc.message, field="name") from None
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(id_number=number).first()
        if member is None or _stored_name(member.name) != clean_name:
            raise MemberAppError("no_match", NO_MATCH, field="id_number")
        if member.user_id is not None:
            bound = User.objects.get(pk=member.user_id)
            if bound.phone == phone and bound.is_active:
                return bound
            raise MemberAppError(
                "already_bound",
                f"该职工已绑定手机号{_masked_phone(bound.phone)}。如需更换手机号，请联系所在工会。",
                field="phone",
            )
        other = member_user_for_phone(phone)
        if other is not None:
            raise MemberAppError(
                "phone_taken",
                "该手机号已绑定另一名职工，不能重复绑定。如有疑问，请联系所在工会。",
                field="phone",
            )
        try:
            with transaction.atomic():
                user = User(username=f"m{phone}", role=Role.MEMBER, phone=phone, union=None)
                user.first_name = member.name
                user.set_unusable_password()
                user.save()
        except IntegrityError:
            # A former login of this phone (unbound since): reuse it.
            user = User.objects.get(username=f"m{phone}")
            if user.role != Role.MEMBER:
                raise MemberAppError("phone_taken", "该手机号不能用于职工登录。", field="phone")
            user.is_active = True
            user.first_name = member.name
            user.save(update_fields=["is_active", "first_name"])
        member.user = user
        member.save(update_fields=["user", "updated_at"])
        audit_record(
            actor=user,
            action="member.bind",
            obj=member,
            after={"phone": _masked_phone(phone), "user": user.pk},
        )
    return user
