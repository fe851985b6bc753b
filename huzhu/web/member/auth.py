"""Who may open a member page, and the session state of a login in progress."""

from __future__ import annotations

import time
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from huzhu.core.crypto import decrypt_text, encrypt_text
from huzhu.members.accounts import member_of_user
from huzhu.organizations.models import Role

LOGIN_URL = "/m/login/"
# After the SMS code is right but before the phone is bound to a member.
VERIFIED_PHONE_KEY = "huzhu_m_verified_phone"
VERIFIED_TTL_SECONDS = 15 * 60


def verified_phone_remember(session, phone: str) -> None:
    # Encrypted: the session table is stored data too (docs/security.md).
    session[VERIFIED_PHONE_KEY] = {"phone_encrypted": encrypt_text(phone), "at": int(time.time())}


def verified_phone(session) -> str | None:
    data = session.get(VERIFIED_PHONE_KEY) or {}
    if not data or time.time() - data.get("at", 0) > VERIFIED_TTL_SECONDS:
        return None
    try:
        return decrypt_text(data.get("phone_encrypted") or "") or None
    except ValueError:  # written under a key no longer configured
        return None


def verified_phone_forget(session) -> None:
    session.pop(VERIFIED_PHONE_KEY, None)


# Set at a login (first binding, phone code, WeChat) when the member has not answered the
# current consent text yet; member pages then send them to /m/consent/ until they answer.
CONSENT_DUE_KEY = "huzhu_m_consent_due"


def member_logged_in(request, member) -> None:
    """After `login()` of a member: ask for the consent text if it is due (first binding,
    or a version published since their last answer)."""
    from huzhu.enrollment.consent import consent_answer_due

    if consent_answer_due(member) is not None:
        request.session[CONSENT_DUE_KEY] = True
    else:
        request.session.pop(CONSENT_DUE_KEY, None)


def member_required(view):
    """Anonymous -> the SMS login; a staff login -> a page saying to use a member login;
    a member login -> the view with `request.member` set (or the consent page first, when
    the login found the consent text unanswered)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            from .wechat_views import in_wechat, wechat_login_url

            if in_wechat(request):  # inside WeChat: log in through the official account
                return redirect(wechat_login_url(request.get_full_path()))
            return redirect_to_login(request.get_full_path(), LOGIN_URL)
        if user.role != Role.MEMBER:
            return render(request, "member/staff_not_member.html", status=403)
        member = member_of_user(user)
        if member is None:
            return redirect("member:login")
        request.member = member
        if request.session.get(CONSENT_DUE_KEY) and view.__name__ != "consent_view":
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('member:consent')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped
