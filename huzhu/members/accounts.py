"""Member logins: a phone verified by SMS code, bound once to a member by name + ID number.

A member's login is a `User` with role `member`, no usable password, `phone` set (stored
encrypted with its blind index; the user name, `m<random hex>` or `wx<member id>`, holds no
phone), no union (a union on the User would widen `union_visible_ids` to the whole union),
linked through `Member.user`. Pages and the API both call these functions.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.core.errors import StepRefused
from huzhu.core.masking import mask_phone
from huzhu.members.fields import FieldError, normalize_name
from huzhu.members.idnumbers import IdNumberError, normalize_id_number
from huzhu.members.models import Member, id_number_q, phone_q
from huzhu.members.sms import wait_text
from huzhu.members.throttle import (
    Limit,
    Throttled,
    address_bucket,
    throttle_give_back,
    throttle_take,
)
from huzhu.organizations.models import Role, User

__all__ = ["member_bind", "member_of_user", "member_user_for_phone"]


def member_of_user(user) -> Member | None:
    """The member a logged-in member user is bound to, else None."""
    if not (user and user.is_authenticated and getattr(user, "role", None) == Role.MEMBER):
        return None
    return Member.objects.select_related("union").filter(user_id=user.pk).first()


def member_user_for_phone(phone: str) -> User | None:
    """The active member login already bound for this (normalised) phone, if any (looked up
    by the phone's blind index)."""
    return (
        User.objects.filter(phone_q(phone), role=Role.MEMBER, is_active=True, member__isnull=False)
        .order_by("id")
        .first()
    )


def member_username() -> str:
    """A new member login's user name: `m` + 16 random hex digits, nothing of the phone."""
    while True:
        name = f"m{secrets.token_hex(8)}"
        if not User.objects.filter(username=name).exists():
            return name


def _stored_name(name: str) -> str:
    try:
        return normalize_name(name)
    except FieldError:  # a registry name the import would refuse today: compare as stored
        return (name or "").strip()


# One answer for "no such ID number", "wrong name" and "bound to another phone": binding must
# not tell whether an ID number is registered, nor show anyone else's phone.
NO_MATCH = (
    "核对未通过：姓名与身份证号不匹配，或您尚未由所在工会登记参加互助，"
    "或该职工已用其他手机号绑定。请核对后重试；如需更换手机号，请联系所在工会。"
)
# Failed binding tries (a try refused for its format alone is not counted: it probes nothing).
BIND_FAILS_PER_PHONE = Limit("bind.fail.phone", 5, timedelta(days=1))
BIND_FAILS_PER_ADDRESS = Limit("bind.fail.address", 20, timedelta(hours=1))


def member_bind(
    *, phone: str, name: str, id_number: str, client: str, now: datetime | None = None
) -> User:
    """Bind a verified phone to the member with this name and ID number; returns the login.
    `client` is the address the try comes from (huzhu.organizations.security.client_ip; "local" for commands).

    At most 5 failed tries per phone in any 24 hours and 20 per client address in any hour
    (`too_many_tries`, with `retry_after`), counted in the database for every app process.
    Every failure gets the same `no_match` answer: unknown ID number, wrong name, member
    already bound to another phone (the union changes it). Binding again from the phone
    already bound returns that login. Audited `member.bind`.
    """
    try:
        number = normalize_id_number(id_number)
    except IdNumberError as exc:
        raise StepRefused(f"id_number.{exc.code}", exc.message, field="id_number") from None
    try:
        clean_name = normalize_name(name)
    except FieldError as exc:
        raise StepRefused(exc.code, exc.message, field="name") from None
    try:
        taken = throttle_take(
            [(BIND_FAILS_PER_PHONE, phone), (BIND_FAILS_PER_ADDRESS, address_bucket(client))],
            now=now,
        )
    except Throttled as exc:
        if exc.limit == BIND_FAILS_PER_PHONE:
            message = (
                f"核对未通过的次数过多，该手机号暂不能绑定，请{wait_text(exc.retry_after)}后"
                "再试，或联系所在工会。"
            )
        else:
            message = f"本网络核对未通过的次数过多，请{wait_text(exc.retry_after)}后再试。"
        raise StepRefused(
            "too_many_tries", message, field="id_number", retry_after=exc.retry_after
        ) from None
    try:
        user = _bind(phone=phone, number=number, clean_name=clean_name)
    except StepRefused as exc:
        left = taken.left[BIND_FAILS_PER_PHONE.scope]
        if exc.code == "no_match":
            exc.message = (
                f"{exc.message}（该手机号还可核对{left}次）"
                if left
                else f"{exc.message}（该手机号的核对次数已用完，请24小时后再试）"
            )
        raise  # counted: a failed try
    except BaseException:
        throttle_give_back(taken)
        raise
    throttle_give_back(taken)
    return user


def _bind(*, phone: str, number: str, clean_name: str) -> User:
    with transaction.atomic():
        # The phone first: its answer says nothing about the ID number.
        if member_user_for_phone(phone) is not None:
            raise StepRefused(
                "phone_taken",
                "该手机号已绑定另一名职工，不能重复绑定。如有疑问，请联系所在工会。",
                field="phone",
            )
        member = Member.objects.select_for_update().filter(id_number_q(number)).first()
        if member is None or _stored_name(member.name) != clean_name:
            raise StepRefused("no_match", NO_MATCH, field="id_number")
        if member.user_id is not None:
            bound = User.objects.get(pk=member.user_id)
            if bound.phone == phone and bound.is_active:
                return bound
            raise StepRefused("no_match", NO_MATCH, field="id_number")
        # A former login of this phone (unbound since) is reused, else a new one is made.
        user = (
            User.objects.filter(phone_q(phone), role=Role.MEMBER, member__isnull=True)
            .order_by("id")
            .first()
        )
        if user is not None:
            user.is_active = True
            user.first_name = member.name
            user.save(update_fields=["is_active", "first_name"])
        else:
            user = User(username=member_username(), role=Role.MEMBER, phone=phone, union=None)
            user.first_name = member.name
            user.set_unusable_password()
            user.save()
        member.user = user
        member.save(update_fields=["user", "updated_at"])
        audit_record(
            actor=user,
            action="member.bind",
            obj=member,
            after={"phone": mask_phone(phone), "user": user.pk},
        )
    return user


def member_login_ensure(member: Member) -> User | None:
    """The member's login, created when the member has none yet (a member bound to WeChat by
    the bindings import who never logged in by phone). None when the login was deactivated.
    Audited `member.login_create`."""
    if member.user_id is not None:
        user = User.objects.get(pk=member.user_id)
        return user if user.is_active else None
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if member.user_id is not None:  # created meanwhile
            return member_login_ensure(member)
        username = f"wx{member.pk}"
        if User.objects.filter(username=username).exists():
            username = member_username()
        user = User(username=username, role=Role.MEMBER, phone=member.phone or "", union=None)
        user.first_name = member.name
        user.set_unusable_password()
        user.save()
        member.user = user
        member.save(update_fields=["user", "updated_at"])
        audit_record(
            actor=user,
            action="member.login_create",
            obj=member,
            after={"user": user.pk, "via": "wechat"},
        )
    return user
