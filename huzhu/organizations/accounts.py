"""Staff accounts: create, change, disable a login with its role and union; reset its password.

Every change is an audit event in the same transaction (`staff.create`, `staff.update`,
`staff.role_change` when the role or union changes, `staff.disable`, `staff.password_reset`).
The second factor and lockouts are in `security.py`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from huzhu.audit.services import audit_record

from .models import Role, Union, UnionKind, User

STAFF_ROLE_CHOICES = [(r.value, r.label) for r in Role if r != Role.MEMBER]
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class AccountError(Exception):
    """A refused account change: `field` names the input, `message` says why (Chinese)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AccountInput:
    role: str
    union: Union | None
    first_name: str = ""


def _check(user_input: AccountInput) -> None:
    if user_input.role not in {v for v, _ in STAFF_ROLE_CHOICES}:
        raise AccountError("role", "请选择工作人员角色（职工不在这里开账号，职工用手机号登录）。")
    if user_input.union is None:
        raise AccountError("union", "请选择所属工会。")
    if user_input.role != Role.UNION_OPERATOR and user_input.union.kind != UnionKind.FEDERATION:
        raise AccountError("union", "市总工作人员（审核、财务、编辑、审计、管理员）应属于总工会。")


def _snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "name": user.first_name,
        "role": user.role,
        "union": user.union.code if user.union_id else None,
        "active": user.is_active,
    }


def _apply_role_flags(user: User) -> None:
    # The administrator role is Django's superuser (every page, /django-admin/, /cms/).
    user.is_superuser = user.role == Role.ADMIN
    user.is_staff = user.role == Role.ADMIN


def password_generate() -> str:
    """A random 14-character password (no look-alike characters) that passes the rules."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(14))


def _password_check(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise AccountError("password", "；".join(exc.messages))


@transaction.atomic
def staff_account_create(
    *, acting_user, username: str, account: AccountInput, password: str | None = None
) -> tuple[User, str]:
    """Create a staff login. Returns the user and its initial password (generated when not
    given: show it once to the person creating the account)."""
    username = (username or "").strip()
    if not username:
        raise AccountError("username", "请填写用户名。")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError("username", f"用户名“{username}”已被使用。")
    _check(account)
    user = User(
        username=username, role=account.role, union=account.union, first_name=account.first_name
    )
    _apply_role_flags(user)
    password = password or password_generate()
    _password_check(password, user)
    user.set_password(password)
    user.save()
    audit_record(
        actor=acting_user,
        action="staff.create",
        object_type="organizations.user",
        object_id=user.username,
        after=_snapshot(user),
    )
    return user, password


@transaction.atomic
def staff_account_update(
    *, acting_user, user: User, account: AccountInput, is_active: bool, reason: str = ""
) -> User:
    """Change a login's name, role, union and whether it may log in."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.role == Role.MEMBER and not user.is_superuser:
        raise AccountError("role", "这是职工的登录，不在这里修改。")
    _check(account)
    if user.pk == getattr(acting_user, "pk", None) and (
        not is_active or account.role != Role.ADMIN
    ):
        raise AccountError("role", "不能停用自己的账号或取消自己的管理员角色。")
    before = _snapshot(user)
    user.role, user.union, user.first_name = account.role, account.union, account.first_name
    user.is_active = is_active
    _apply_role_flags(user)
    user.save(
        update_fields=["role", "union", "first_name", "is_active", "is_superuser", "is_staff"]
    )
    after = _snapshot(user)
    if after == before:
        return user
    action = "staff.update"
    if (before["role"], before["union"]) != (after["role"], after["union"]):
        action = "staff.role_change"
    elif before["active"] and not after["active"]:
        action = "staff.disable"
    audit_record(
        actor=acting_user,
        action=action,
        object_type="organizations.user",
        object_id=user.username,
        before=before,
        after=after,
        reason=reason,
    )
    return user


@transaction.atomic
def staff_account_disable(*, acting_user, user: User, reason: str = "") -> User:
    """Switch a login off (it cannot log in; its open sessions stop working). Nothing is
    deleted: the audit trail keeps naming it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == getattr(acting_user, "pk", None):
        raise AccountError("is_active", "不能停用自己的账号。")
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        actor=acting_user,
        action="staff.disable",
        object_type="organizations.user",
        object_id=user.username,
        before={"active": True},
        after={"active": False},
        reason=reason,
    )
    return user


@transaction.atomic
def staff_password_reset(*, acting_user, user: User, password: str | None = None) -> str:
    """Give a login a new password (generated when not given); returns it to show once."""
    password = password or password_generate()
    _password_check(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=acting_user,
        action="staff.password_reset",
        object_type="organizations.user",
        object_id=user.username,
    )
    return password
