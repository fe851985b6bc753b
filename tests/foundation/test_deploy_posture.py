"""Deployment posture: `check --deploy` clean with HTTPS=1, Content-Security-Policy without
inline script, Swagger UI served locally, Chinese error pages."""

import re
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from tests.foundation.test_project import _run_huzhu

pytestmark = pytest.mark.django_db

PACKAGE = Path(__file__).resolve().parents[2] / "huzhu"


def test_check_deploy_prints_no_warning_with_debug_off_and_https(tmp_path):
    result = _run_huzhu(
        "check",
        "--deploy",
        env_extra={
            "DEBUG": "0",
            "HTTPS": "1",
            "SECRET_KEY": "k" * 20 + "-a-long-random-production-key-0123456789-xyz",
            "HUZHU_VAR_DIR": str(tmp_path),
        },
        drop=("DATABASE_URL",),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_pages_carry_a_csp_that_allows_no_foreign_or_unnonced_script(client):
    response = client.get("/staff/login/")
    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    # (django-csp adds the nonce only to pages that used it: see the member login test)
    assert script_src.split()[0] == "'self'"
    assert "unsafe-inline" not in script_src and "http" not in script_src
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_member_login_inline_script_carries_the_request_nonce(client, settings):
    from huzhu.members.models import Member  # noqa: F401  (app loaded)

    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms.ConsoleSmsBackend"
    response = client.post("/m/login/", {"phone": "13800000001", "action": "send"})
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()


def test_no_template_has_inline_script_without_nonce_or_event_handler_attributes():
    offenders = []
    for path in PACKAGE.rglob("templates/**/*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" in tag or "nonce=" in tag or "application/json" in tag:
                continue
            offenders.append(f"{path}: {tag}")
        for attr in re.findall(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path}: {attr}")
    assert offenders == []


def test_swagger_ui_is_served_from_the_platform(client):
    page = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


def test_404_page_is_in_chinese(client):
    response = client.get("/no-such-page-anywhere/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_500_page_is_in_chinese():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "系统暂时出错" in response.content.decode()


def _directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


def test_the_admins_carry_their_own_policy(admin_client):
    # Wagtail's admin: inline script allowed (its page editor has some), nothing foreign;
    # frames only of itself (the preview panel).
    cms = admin_client.get("/cms/")["Content-Security-Policy"]
    assert _directive(cms, "script-src") == ["'self'", "'unsafe-inline'"]
    assert _directive(cms, "frame-ancestors") == ["'self'"]
    assert _directive(cms, "object-src") == ["'none'"]
    assert _directive(cms, "connect-src") == ["'self'"]
    assert "http" not in cms
    # Django's admin needs no inline script.
    dja = admin_client.get("/django-admin/")["Content-Security-Policy"]
    assert _directive(dja, "script-src") == ["'self'"]
    assert _directive(dja, "frame-ancestors") == ["'none'"]
    # The rest of the site keeps the nonce policy.
    site = admin_client.get("/staff/")["Content-Security-Policy"]
    assert "'unsafe-inline'" not in _directive(site, "script-src")


def test_the_wagtail_preview_of_a_page_may_be_framed_by_the_editor(rf, settings):
    from django.http import HttpResponse

    from huzhu.web.middleware import ContentSecurityPolicyMiddleware

    request = rf.get("/")
    request.is_preview = True  # as Wagtail's make_preview_request marks it
    middleware = ContentSecurityPolicyMiddleware(lambda r: HttpResponse("page"))
    middleware.process_request(request)
    response = middleware.process_response(request, HttpResponse("page"))
    assert _directive(response["Content-Security-Policy"], "frame-ancestors") == ["'self'"]
    plain = rf.get("/")
    middleware.process_request(plain)
    response = middleware.process_response(plain, HttpResponse("page"))
    assert _directive(response["Content-Security-Policy"], "frame-ancestors") == ["'none'"]


def test_wagtail_does_not_call_home_for_updates(settings):
    assert settings.WAGTAIL_ENABLE_UPDATE_CHECK is False
