"""OAuth (snsapi_base) login at /m/wechat/, binding an unknown openid, unbinding."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from huzhu.audit.models import AuditEvent
from huzhu.members.sms import MemorySmsBackend
from huzhu.organizations.models import Role
from huzhu.wechat.models import WeChatBinding
from huzhu.wechat.services import wechat_bind
from tests.factories import MemberFactory, UserFactory, consent_answered

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def memory_sms(settings):
    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()


def member_with_login(phone="13800004444", **kw):
    member = MemberFactory(phone=phone, **kw)
    member.user = UserFactory(role=Role.MEMBER, union=None, phone=phone)
    member.save(update_fields=["user"])
    return member


def through_wechat(client, fake, *, openid, next_path="/m/"):
    """Open /m/wechat/ as WeChat's browser would: follow the redirect to the (fake) WeChat
    authorization page as `openid`, and come back to the callback."""
    entry = client.get("/m/wechat/", {"next": next_path})
    assert entry.status_code == 302
    authorize = entry["Location"]
    parts = urlsplit(authorize)
    assert f"{parts.scheme}://{parts.netloc}" == fake.url
    assert parts.path == "/connect/oauth2/authorize" and parts.fragment == "wechat_redirect"
    query = parse_qs(parts.query)
    assert query["appid"] == [fake.appid] and query["scope"] == ["snsapi_base"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/m/wechat/callback/"]
    answer = requests.get(
        authorize.split("#")[0], cookies={"fakewx_openid": openid}, allow_redirects=False
    )
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_bound_member_is_logged_in_and_lands_on_the_page_asked(client, fake_wechat):
    member = member_with_login()
    consent_answered(member)
    wechat_bind(member=member, openid="o_bound_0001")
    response = through_wechat(client, fake_wechat, openid="o_bound_0001", next_path="/m/claims/")
    assert response.status_code == 302 and response["Location"] == "/m/claims/"
    assert client.get("/m/").context["member"] == member


def test_member_bound_by_import_without_a_login_lands_on_home_logged_in(client, fake_wechat):
    member = MemberFactory(phone="13800005555")
    wechat_bind(member=member, openid="o_import_0001", source="import")
    response = through_wechat(client, fake_wechat, openid="o_import_0001")
    assert response["Location"] == "/m/"
    member.refresh_from_db()
    assert member.user is not None and member.user.role == Role.MEMBER
    # Their first login: the consent text is asked first.
    assert client.get("/m/")["Location"] == "/m/consent/?next=%2Fm%2F"
    client.post("/m/consent/", {"action": "accept"})
    assert client.get("/m/").status_code == 200


def test_state_is_checked(client, fake_wechat):
    client.get("/m/wechat/")
    response = client.get("/m/wechat/callback/", {"code": "x", "state": "forged"})
    assert response.status_code == 400
    assert "链接已失效" in response.content.decode()


def test_callback_without_a_started_login_is_refused(client, fake_wechat):
    assert client.get("/m/wechat/callback/", {"code": "x", "state": "x"}).status_code == 400


def test_bad_code_is_a_clear_page_not_a_500(client, fake_wechat):
    client.get("/m/wechat/")
    state = client.session["huzhu_wx_state"]
    response = client.get("/m/wechat/callback/", {"code": "never-issued", "state": state})
    assert response.status_code == 502 and "微信服务暂时不可用" in response.content.decode()


def test_unknown_openid_goes_through_sms_binding_then_is_stored(client, fake_wechat):
    member = MemberFactory(phone="13800006666", name="王芳")
    response = through_wechat(client, fake_wechat, openid="o_new_000001", next_path="/m/claims/")
    assert response.status_code == 302 and response["Location"].startswith("/m/login/")
    assert not WeChatBinding.objects.exists()

    # Today's first login: phone + SMS code, then name + ID number.
    client.post("/m/login/", {"phone": "13800006666", "action": "send"})
    code = MemorySmsBackend.last_code("13800006666")
    assert client.post("/m/login/", {"phone": "13800006666", "code": code}).status_code == 302
    client.post("/m/bind/", {"name": "王芳", "id_number": member.id_number})

    binding = WeChatBinding.objects.get()
    assert (binding.member, binding.openid, binding.source) == (member, "o_new_000001", "oauth")
    event = AuditEvent.objects.get(action="wechat.bind")
    assert event.object_id == str(member.pk) and "o_new_" in event.after["openid"]

    # Next time: straight in, no code.
    client.logout()
    response = through_wechat(client, fake_wechat, openid="o_new_000001")
    assert response["Location"] == "/m/"


def test_second_wechat_replaces_the_first_and_says_so(client, fake_wechat):
    member = member_with_login(phone="13800007777")
    wechat_bind(member=member, openid="o_first_0001")
    client.force_login(member.user)
    response = through_wechat(client, fake_wechat, openid="o_second_001")
    assert response.status_code == 302
    assert WeChatBinding.objects.get().openid == "o_second_001"
    page = client.get("/m/").content.decode()
    assert "原来绑定的微信已解除" in page


def test_openid_of_another_member_cannot_be_bound():
    one, two = MemberFactory(), MemberFactory()
    wechat_bind(member=one, openid="o_taken_0001")
    from huzhu.wechat.services import WeChatBindError

    with pytest.raises(WeChatBindError) as exc:
        wechat_bind(member=two, openid="o_taken_0001")
    assert exc.value.code == "openid_taken"


def test_member_can_unbind(client, fake_wechat):
    member = member_with_login(phone="13800008888")
    wechat_bind(member=member, openid="o_unbind_001")
    client.force_login(member.user)
    assert "解除微信绑定" in client.get("/m/").content.decode()
    response = client.post("/m/wechat/unbind/")
    assert response.status_code == 302
    assert not WeChatBinding.objects.exists()
    assert AuditEvent.objects.filter(action="wechat.unbind", object_id=str(member.pk)).exists()


def test_inside_wechat_a_member_page_logs_in_through_oauth(client, fake_wechat):
    response = client.get("/m/claims/", HTTP_USER_AGENT="Mozilla/5.0 MicroMessenger/8.0.50")
    assert response.status_code == 302 and response["Location"] == "/m/wechat/?next=/m/claims/"


def test_without_app_id_the_pages_do_not_exist(client, settings):
    settings.HUZHU_WECHAT = {"APPID": ""}
    assert client.get("/m/wechat/").status_code == 404
    response = client.get("/m/claims/", HTTP_USER_AGENT="MicroMessenger")
    assert response["Location"].startswith("/m/login/")


def test_next_must_be_a_member_page(client, fake_wechat):
    client.get("/m/wechat/", {"next": "https://evil.example/m/"})
    assert client.session["huzhu_wx_next"] == "/m/"
    client.get("/m/wechat/", {"next": "//evil.example/m/"})
    assert client.session["huzhu_wx_next"] == "/m/"
