"""Binding an openid to a member, and unbinding. Audited; one openid per member."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record
from huzhu.members.models import Member

from .models import BindingSource, WeChatBinding

OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


class WeChatBindError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _short(openid: str) -> str:
    return f"{openid[:6]}…{openid[-4:]}" if len(openid) > 12 else openid


@dataclass(frozen=True)
class BindResult:
    binding: WeChatBinding
    changed: bool  # False: this openid was already this member's
    replaced_openid: str  # the member's former openid, "" when none


def openid_check(openid: str) -> str:
    openid = (openid or "").strip()
    if not OPENID_RE.match(openid):
        raise WeChatBindError("bad_openid", _("openid格式不正确"))
    return openid


def member_for_openid(openid: str) -> Member | None:
    binding = WeChatBinding.objects.select_related("member").filter(openid=openid).first()
    return binding.member if binding else None


def wechat_bind(
    *, member: Member, openid: str, source: str = BindingSource.OAUTH, acting_user=None
) -> BindResult:
    """Bind `openid` to `member`. A member has one openid: binding another replaces the
    former (the result names it, so the page can say so). An openid bound to someone else is
    refused (`openid_taken`). Audited `wechat.bind`."""
    openid = openid_check(openid)
    with transaction.atomic():
        taken = WeChatBinding.objects.select_for_update().filter(openid=openid).first()
        if taken is not None and taken.member_id != member.pk:
            raise WeChatBindError("openid_taken", _("该微信已绑定另一名职工，不能重复绑定。"))
        if taken is not None:
            return BindResult(taken, changed=False, replaced_openid="")
        current = WeChatBinding.objects.select_for_update().filter(member=member).first()
        replaced = ""
        if current is not None:
            replaced = current.openid
            current.openid = openid
            current.source = source
            current.save(update_fields=["openid", "source"])
            binding = current
        else:
            binding = WeChatBinding.objects.create(member=member, openid=openid, source=source)
        audit_record(
            actor=acting_user,
            action="wechat.bind",
            obj=member,
            before={"openid": _short(replaced)} if replaced else None,
            after={"openid": _short(openid), "source": source},
        )
    return BindResult(binding, changed=True, replaced_openid=replaced)


def wechat_unbind(*, member: Member, acting_user=None) -> bool:
    """Remove the member's binding; False when there was none. Audited `wechat.unbind`."""
    with transaction.atomic():
        binding = WeChatBinding.objects.select_for_update().filter(member=member).first()
        if binding is None:
            return False
        openid = binding.openid
        binding.delete()
        audit_record(
            actor=acting_user,
            action="wechat.unbind",
            obj=member,
            before={"openid": _short(openid)},
        )
    return True
