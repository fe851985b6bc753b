"""The access token: fetched from stable_token, shared through the database, refreshed
before expiry and when WeChat refuses it (40001/42001)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from huzhu.wechat.client import WeChatError, template_send
from huzhu.wechat.models import AccessToken
from huzhu.wechat.tokens import REFRESH_MARGIN, access_token

pytestmark = pytest.mark.django_db


def test_token_is_fetched_once_and_shared_from_the_database(fake_wechat):
    first = access_token()
    assert first.startswith("FAKE_TOKEN_")
    assert access_token() == first
    assert len(fake_wechat.token_requests) == 1
    assert fake_wechat.token_requests[0]["grant_type"] == "client_credential"
    row = AccessToken.objects.get(appid=fake_wechat.appid)
    assert row.token == first and row.expires_at > timezone.now() + timedelta(seconds=7000)


def test_token_is_refreshed_before_it_expires(fake_wechat):
    first = access_token()
    # Five minutes before expiry the stored token is no longer used.
    AccessToken.objects.update(expires_at=timezone.now() + timedelta(seconds=REFRESH_MARGIN - 1))
    fake_wechat.expire_tokens()
    second = access_token()
    assert second != first
    assert len(fake_wechat.token_requests) == 2


def test_refused_token_is_refreshed_and_the_call_repeated(fake_wechat):
    first = access_token()
    fake_wechat.revoke_tokens()  # WeChat answers 40001 for it now
    answer = template_send(openid="o_x1234567", template_id="t", url="http://x/", data={})
    assert answer["errcode"] == 0
    assert AccessToken.objects.get().token != first
    assert len(fake_wechat.messages) == 1


def test_expired_token_answer_42001_refreshes(fake_wechat):
    first = access_token()
    fake_wechat.expire_tokens()  # stored as fresh here, expired at WeChat (clock skew)
    answer = template_send(openid="o_x1234567", template_id="t", url="http://x/", data={})
    assert answer["errcode"] == 0
    assert AccessToken.objects.get().token != first
    assert not any(r.get("force_refresh") for r in fake_wechat.token_requests)


def test_token_refused_but_still_handed_out_is_force_refreshed(fake_wechat):
    first = access_token()
    fake_wechat.refuse_current_token()
    answer = template_send(openid="o_x1234567", template_id="t", url="http://x/", data={})
    assert answer["errcode"] == 0
    assert [bool(r.get("force_refresh")) for r in fake_wechat.token_requests] == [
        False,
        False,
        True,
    ]
    assert AccessToken.objects.get().token != first


def test_bad_secret_is_an_error_not_a_token(fake_wechat, settings):
    settings.HUZHU_WECHAT = {**settings.HUZHU_WECHAT, "SECRET": "wrong"}
    with pytest.raises(WeChatError) as exc:
        access_token()
    assert exc.value.errcode == 40125
    assert not AccessToken.objects.exclude(token="").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_processes_asking_at_once_share_one_fetched_token(fake_wechat):
    from tests.concurrency import run_together

    tokens = run_together([access_token] * 4)
    assert not [t for t in tokens if isinstance(t, Exception)], tokens
    assert len(set(tokens)) == 1
    assert len(fake_wechat.token_requests) == 1  # the others waited on the row lock
