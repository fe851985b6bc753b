"""Fixtures running the local fake WeChat and fake Tencent SMS servers (huzhu/fakes/).

One server per test session, each serving a fresh fake per test (`_Slot`), so tests do not
pay for starting and stopping servers. Import the fixtures into a conftest to use them.
"""

import pytest

from huzhu.fakes.server import serve_in_thread
from huzhu.fakes.sms import FakeTencentSms
from huzhu.fakes.wechat import FakeWeChat
from huzhu.wechat.config import TEMPLATE_KINDS


class _Slot:
    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def _wechat_server():
    slot = _Slot()
    server, url = serve_in_thread(slot)
    yield slot, url
    server.shutdown()


@pytest.fixture(scope="session")
def _sms_server():
    slot = _Slot()
    server, url = serve_in_thread(slot)
    yield slot, url
    server.shutdown()


@pytest.fixture
def fake_wechat(_wechat_server, settings):
    """A fresh fake WeChat, and settings pointing at it (channel `wechat` on)."""
    slot, url = _wechat_server
    fake = FakeWeChat(appid="wxtest0000000001", secret="test-secret", default_openid="o_visitor")
    fake.url = url
    slot.app = fake
    settings.HUZHU_WECHAT = {
        "APPID": fake.appid,
        "SECRET": fake.secret,
        "TOKEN": "test-server-token",
        "AES_KEY": "",
        "API_BASE": url,
        "OPEN_BASE": url,
        "TEMPLATES": {kind: f"tpl_{kind}" for kind in TEMPLATE_KINDS},
    }
    settings.HUZHU_NOTIFY_CHANNELS = ["wechat"]
    return fake


@pytest.fixture
def fake_sms(_sms_server, settings):
    """A fresh fake Tencent SMS, and the Tencent backend configured against it."""
    slot, url = _sms_server
    fake = FakeTencentSms()
    fake.url = url
    slot.app = fake
    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms_tencent.TencentSmsBackend"
    settings.HUZHU_SMS_TENCENT = {
        "SECRET_ID": fake.secret_id,
        "SECRET_KEY": fake.secret_key,
        "SDK_APP_ID": fake.sdk_app_id,
        "SIGN_NAME": fake.sign_name,
        "TEMPLATE_CODE": "100001",
        "TEMPLATE_NOTICE": "100002",
        "REGION": "ap-guangzhou",
        "ENDPOINT": url,
    }
    return fake
