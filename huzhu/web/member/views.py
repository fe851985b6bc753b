"""Member pages: SMS login, binding, home, coverage, bank card."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from huzhu.members.sms import SmsError, sms_code_request, sms_code_verify
from huzhu.organizations.security import client_ip

from . import selectors
from .accounts import MemberAppError, member_bind, member_of_user, member_user_for_phone
from .auth import (
    member_required,
    verified_phone,
    verified_phone_forget,
    verified_phone_remember,
)
from .services import bank_card_change

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
        except MemberAppError as exc:
            errors[exc.field or "id_number"] = exc.message
        else:
            verified_phone_forget(request.session)
            login(request, user, backend=BACKEND)
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
        except MemberAppError as exc:
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
