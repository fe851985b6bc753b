"""Staff login: password (django-axes lockout), then the second factor (django-otp)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.audit.services import audit_record
from huzhu.organizations.security import (
    has_second_factor,
    is_staff_login,
    second_factor_enroll,
    second_factor_required,
    totp_device_pending,
)
from huzhu.portal.qr import qr_svg


class StaffLoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = False


class PasswordChangeView(auth_views.PasswordChangeView):
    """A staff login changes its own password (the password rules apply; audited)."""

    template_name = "web/password_change.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_staff_login(request.user):
            raise PermissionDenied("staff only")
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self):
        return reverse("web:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(
            actor=self.request.user,
            action="password.change",
            object_type="organizations.user",
            object_id=self.request.user.get_username(),
        )
        messages.success(self.request, "密码已修改。")
        return response


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/staff/"


def _redirect_next(name: str, request):
    return redirect(f"{reverse(name)}?{urlencode({'next': _next(request)})}")


def _staff_or_login(request):
    if not is_staff_login(request.user):
        return redirect("web:login")
    return None


@never_cache
@sensitive_post_parameters("token")
@login_required
def otp_verify(request):
    """Second step of the login: a code from the authenticator app or a recovery code."""
    refused = _staff_or_login(request)
    if refused:
        return refused
    user = request.user
    if not has_second_factor(user):
        return _redirect_next("web:otp_setup", request)
    error = ""
    if request.method == "POST":
        device = match_token(user, (request.POST.get("token") or "").replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            audit_record(
                actor=user,
                action="login.second_factor",
                object_type="organizations.user",
                object_id=user.get_username(),
                after={"device": device.__class__.__name__.removesuffix("Device").lower()},
            )
            return redirect(_next(request))
        audit_record(
            actor=user,
            action="login.second_factor_failed",
            object_type="organizations.user",
            object_id=user.get_username(),
        )
        error = "验证码不正确或已使用过。输错后需等待几秒（每次输错等待时间加倍）再输入新的验证码。"
    return render(request, "web/otp_verify.html", {"error": error, "next": _next(request)})


@never_cache
@sensitive_post_parameters("token")
@login_required
def otp_setup(request):
    """Enrol an authenticator app (scan the QR code, type a code); then show recovery codes.

    Required roles land here on their first login; other staff may come here by choice."""
    refused = _staff_or_login(request)
    if refused:
        return refused
    user = request.user
    if has_second_factor(user) and not user.is_verified():
        return _redirect_next("web:otp_verify", request)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return render(request, "web/otp_setup.html", {"enrolled": True, "next": _next(request)})
    device = totp_device_pending(user)
    error = ""
    if request.method == "POST":
        codes = second_factor_enroll(
            user=user, device=device, token=request.POST.get("token") or ""
        )
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            messages.success(request, "两步验证已启用。")
            return render(
                request, "web/otp_setup.html", {"recovery_codes": codes, "next": _next(request)}
            )
        error = "验证码不正确，请核对手机上显示的 6 位数字，稍等几秒后重试。"
    secret = _base32(device.bin_key)
    return render(
        request,
        "web/otp_setup.html",
        {
            "qr": qr_svg.__wrapped__(device.config_url, label="两步验证二维码"),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "required": second_factor_required(user),
            "error": error,
            "next": _next(request),
        },
    )


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode().rstrip("=")


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE), in Chinese, status 429."""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cooloff_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    return render(request, "web/lockout.html", context, status=429)
