from tests.fakes import _sms_server, _wechat_server, fake_sms, fake_wechat  # noqa: F401
