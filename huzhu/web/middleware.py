"""Staff session policy (idle timeout, session ends at browser close, second factor gate) and
the Content-Security-Policy of the admins."""

from __future__ import annotations

import time

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from huzhu.organizations.security import has_second_factor, is_staff_login, second_factor_required

LAST_SEEN_KEY = "huzhu_staff_last_seen"
# Pages a staff login must pass the second factor for. The public portal and the member
# pages are not staff pages; /api/ uses keys or member logins.
GATED_PREFIXES = ("/staff/", "/cms/", "/django-admin/")


class StaffSessionMiddleware:
    """For staff logins: the session cookie lasts until the browser closes, the session ends
    after HUZHU_STAFF_IDLE_SECONDS without a request, and staff pages need the second factor
    when the login must use one (redirect to enrolment or to the code page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        user = request.user
        if is_staff_login(user):
            now = int(time.time())
            last = request.session.get(LAST_SEEN_KEY)
            if last is not None and now - last > settings.HUZHU_STAFF_IDLE_SECONDS:
                logout(request)
                messages.info(request, "由于 30 分钟无操作，您已自动退出，请重新登录。")
                return redirect_to_login(request.get_full_path())
            request.session[LAST_SEEN_KEY] = now
            if not request.session.get_expire_at_browser_close():
                request.session.set_expiry(0)
            response = self._second_factor_gate(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _second_factor_gate(self, request, user):
        path = request.path
        if not path.startswith(GATED_PREFIXES) or path.startswith(_exempt_paths()):
            return None
        if user.is_verified() or not second_factor_required(user):
            return None
        target = "web:otp_verify" if has_second_factor(user) else "web:otp_setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def _exempt_paths() -> tuple[str, ...]:
    return (
        reverse("web:login"),
        reverse("web:logout"),
        reverse("web:otp_verify"),
        reverse("web:otp_setup"),
    )


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the admins' own policies: Wagtail's admin (/cms/) and
    Django's admin (/django-admin/) get `HUZHU_ADMIN_CSP[prefix]` instead of the site's
    CONTENT_SECURITY_POLICY (their templates carry inline script the platform does not
    render with a nonce). A view's own @csp_* decorator still wins."""

    def get_policy_parts(self, request, response, report_only: bool = False):
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.config is None:
            if getattr(request, "is_preview", False):
                # Wagtail renders a preview through the whole stack with a request for the
                # page's own path, and shows it in the editor's frame: the editor's policy.
                parts.config = settings.HUZHU_ADMIN_CSP["/cms/"]
                return parts
            for prefix, directives in settings.HUZHU_ADMIN_CSP.items():
                if request.path_info.startswith(prefix):
                    parts.config = directives
                    break
        return parts
