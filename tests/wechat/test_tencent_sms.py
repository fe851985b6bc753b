"""Tencent Cloud SMS: the TC3 signature, login codes and provider errors."""

import pytest

from huzhu.members.models import SmsCode
from huzhu.members.sms import SmsError, sms_code_request, sms_code_verify
from huzhu.members.tencent_sign import tc3_authorization

# Captured from Tencent's official Python SDK (tencentcloud-sdk-python-common 3.1.195,
# CommonClient("sms", "2021-01-11", …).call_json("SendSms", …)) with these credentials.
SDK_PAYLOAD = (
    b'{"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": "1400000001", "SignName": "SIGN", '
    b'"TemplateId": "100001", "TemplateParamSet": ["123456", "5"]}'
)
SDK_AUTHORIZATION = (
    "TC3-HMAC-SHA256 Credential=AKIDtestid/2026-12-04/sms/tc3_request, "
    "SignedHeaders=content-type;host, "
    "Signature=bf201c24a3969e4abe7543086b3f869d92bbeee6d92e87d75375bc28ed25aa75"
)


def test_signature_equals_the_official_sdks():
    assert (
        tc3_authorization(
            secret_id="AKIDtestid",
            secret_key="testsecretkey",
            host="sms.tencentcloudapi.com",
            payload=SDK_PAYLOAD,
            timestamp=1796396597,
        )
        == SDK_AUTHORIZATION
    )


@pytest.mark.django_db
def test_login_code_is_sent_through_the_provider(fake_sms):
    sms_code_request(phone="13800003333", client="10.0.0.1")
    [sent] = fake_sms.messages
    assert sent["phone"] == "+8613800003333" and sent["template"] == "100001"
    code, minutes = sent["params"]
    assert minutes == "5"
    assert sms_code_verify(phone="13800003333", code=code, client="10.0.0.1") == "13800003333"


@pytest.mark.django_db
def test_provider_error_is_stored_and_the_member_may_ask_again_at_once(fake_sms):
    fake_sms.error_next = 1
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone="13800003333", client="10.0.0.1")
    assert exc.value.code == "send_failed"
    row = SmsCode.objects.get()
    assert "LimitExceeded.PhoneNumberDailyLimit" in row.send_error and row.consumed_at
    sms_code_request(
        phone="13800003333", client="10.0.0.1"
    )  # no 60-second wait after a failed send
    assert len(fake_sms.messages) == 1


@pytest.mark.django_db
def test_wrong_secret_is_refused_by_the_fake_as_by_tencent(fake_sms, settings):
    settings.HUZHU_SMS_TENCENT = {**settings.HUZHU_SMS_TENCENT, "SECRET_KEY": "wrong"}
    with pytest.raises(SmsError):
        sms_code_request(phone="13800003333", client="10.0.0.1")
    assert "AuthFailure.SignatureFailure" in SmsCode.objects.get().send_error


@pytest.mark.django_db
def test_per_number_failure_code_is_an_error(fake_sms):
    fake_sms.fail_codes["+8613800003333"] = "FailedOperation.PhoneNumberInBlacklist"
    with pytest.raises(SmsError):
        sms_code_request(phone="13800003333", client="10.0.0.1")
    assert "PhoneNumberInBlacklist" in SmsCode.objects.get().send_error
