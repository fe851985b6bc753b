"""Member pages: SMS login, binding, home, coverage, bank card."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from huzhu.claims import member_selectors as selectors
from huzhu.claims.payees import bank_card_change
from huzhu.core.errors import StepRefused
from huzhu.enrollment.consent import (
    consent_answered_version,
    consent_member_answer,
    consent_state,
    consent_text_current,
)
from huzhu.members.accounts import (
    member_bind,
    member_of_user,
    member_user_for_phone,
)
from huzhu.members.sms import SmsError, sms_code_request, sms_code_verify
from huzhu.organizations.security import client_ip

from .auth import (
    CONSENT_DUE_KEY,
    member_logged_in,
    member_required,
    verified_phone,
    verified_phone_forget,
    verified_phone_remember,
)

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return "/m/"


def login_view(request):
    """Phone + SMS code. "获取验证码" sends a code; "登录" checks it."""
    if member_of_user(request.user) is not None:
        return redirect(_safe_next(request))
    phone = (request.POST.get("phone") or "").strip()
    errors: dict[str, str] = {}
    sent = False
    if request.method == "POST":
        action = request.POST.get("action", "login")
        if action == "send":
            try:
                row = sms_code_request(phone=phone, client=client_ip(request) or "")
            except SmsError as exc:
                errors["phone" if exc.code in ("bad_phone", "missing_phone") else "code"] = (
                    exc.message
                )
            else:
                sent = True
                phone = row.phone
        else:
            try:
                phone = sms_code_verify(
                    phone=phone, code=request.POST.get("code", ""), client=client_ip(request) or ""
                )
            except SmsError as exc:
                errors["phone" if exc.code in ("bad_phone", "missing_phone") else "code"] = (
                    exc.message
                )
            else:
                user = member_user_for_phone(phone)
                if user is not None:
                    verified_phone_forget(request.session)
                    login(request, user, backend=BACKEND)
                    member_logged_in(request, member_of_user(user))
                    return redirect(_safe_next(request))
                verified_phone_remember(request.session, phone)
                return redirect("member:bind")
    return render(
        request,
        "member/login.html",
        {"phone": phone, "errors": errors, "sent": sent, "next": _safe_next(request)},
    )


def bind_view(request):
    """First login: bind the verified phone to the member by name + ID number."""
    phone = verified_phone(request.session)
    if phone is None:
        messages.info(request, "请先用手机验证码登录。")
        return redirect("member:login")
    errors: dict[str, str] = {}
    form = {"name": "", "id_number": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            user = member_bind(phone=phone, client=client_ip(request) or "", **form)
        except StepRefused as exc:
            errors[exc.field or "id_number"] = exc.message
        else:
            verified_phone_forget(request.session)
            login(request, user, backend=BACKEND)
            member_logged_in(request, member_of_user(user))
            messages.success(request, "绑定成功，以后用此手机号登录即可。")
            return redirect("member:home")
    return render(
        request,
        "member/bind.html",
        {"phone_masked": f"{phone[:3]}****{phone[-4:]}", "errors": errors, "form": form},
    )


@require_POST
def logout_view(request):
    logout(request)
    return redirect("member:login")


@member_required
def home(request):
    member = request.member
    return render(
        request,
        "member/home.html",
        {
            "member": member,
            "coverage": selectors.coverage_current(member),
            "open_claims": selectors.claims_of_member(member).exclude(
                status__in=["paid", "rejected", "void"]
            )[:3],
            "notifications": selectors.notifications_of_member(member)[:5],
            "consent": consent_state(member),
        },
    )


@member_required
def consent_view(request):
    """个人信息处理同意书: the current text, the member's answer; accept or withdraw."""
    member = request.member
    current = consent_text_current()
    if request.method == "POST" and current is not None:
        action = request.POST.get("action")
        if action in ("accept", "withdraw"):
            consent_member_answer(
                member=member, accept=action == "accept", acting_user=request.user, text=current
            )
            request.session.pop(CONSENT_DUE_KEY, None)
            if action == "accept":
                messages.success(request, "您已同意个人信息处理同意书，出院后互助金将自动办理。")
            else:
                messages.success(
                    request,
                    "您已撤回同意：平台不再根据医保结算数据为您自动办理互助金，"
                    "您仍可在线提交互助申请。",
                )
            return redirect(_safe_next(request))
    return render(
        request,
        "member/consent.html",
        {
            "member": member,
            "text": current,
            "state": consent_state(member),
            "due": bool(request.session.get(CONSENT_DUE_KEY)),
            "first_time": consent_answered_version(member) == 0,
            "next": _safe_next(request),
            "back_url": None if request.session.get(CONSENT_DUE_KEY) else "/m/",
        },
    )


@member_required
def coverage_view(request):
    member = request.member
    return render(
        request,
        "member/coverage.html",
        {"member": member, "coverages": selectors.coverages_of_member(member), "back_url": "/m/"},
    )


@member_required
def bank_card_view(request):
    member = request.member
    errors: dict[str, str] = {}
    form = {"account_name": member.name, "bank_name": member.bank_name, "bank_account": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            result = bank_card_change(member=member, acting_user=request.user, **form)
        except StepRefused as exc:
            errors[exc.field or "bank_account"] = exc.message
        else:
            messages.success(request, result.message)
            return redirect("member:bank_card")
    return render(
        request,
        "member/bank_card.html",
        {
            "member": member,
            "form": form,
            "errors": errors,
            "pending": selectors.pending_payment_claims(member),
            "back_url": "/m/",
        },
    )
