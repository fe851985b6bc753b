"""/wechat/: the server check, follow and 进度 replies, safe mode; `huzhu wechat-menu push`."""

import io
import json
import re
import time

import pytest
from django.core.management import call_command

from huzhu.claims.models import ClaimStatus
from huzhu.wechat.crypto import decrypt, encrypt, wechat_signature
from huzhu.wechat.messages import message_parse
from huzhu.wechat.services import wechat_bind
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db

TOKEN = "test-server-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxtest0000000001"
# Made by wechatpy 1.8.18 (WeChatCrypto.encrypt_message) with the key and app id above.
WECHATPY_ENCRYPT = (
    "+kIMATkX6jyzfU8pba03bkrBBckNypuFx+9OhCgBOb0qPKzAi2QBda4QI5ktSTHTCy5a+peRSAIfyxY4C8i1v90r1p3N"
    "FQKBtdkVCYOHFkaoP7RMpMaGmiO/SoCKYeaL2q1bUIy7EXotNzlzxySDKx99lpQ2wLBt148REofJHG3KGtmgAey5fyL1"
    "r//fjPSLD3ak4hOT6T0iHALEXgObL0UhZxQI1cQ+YRVlfj2zWfoNI1RbDLVozHmKAveRUm904otbY5b3fNNDzrvYID7d"
    "KW8WLKoLBJ6aoVkGVCj+u2gwt5UObRd71GEKX9tMqw4qLvDWjI5146NuZpO3ZWjY4g=="
)


def signed(**extra):
    ts, nonce = str(int(time.time())), "n0nce"
    return {
        "timestamp": ts,
        "nonce": nonce,
        "signature": wechat_signature(TOKEN, ts, nonce),
        **extra,
    }


def incoming(openid, body):
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>1700000000</CreateTime>{body}</xml>"
    )


def post(client, xml, **query):
    params = signed(**query)
    url = "/wechat/?" + "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(url, data=xml.encode(), content_type="text/xml")


def reply_content(response) -> str:
    return message_parse(response.content)["Content"]


def test_server_check_answers_echostr(client, fake_wechat):
    response = client.get("/wechat/", signed(echostr="hello-123"))
    assert response.status_code == 200 and response.content == b"hello-123"


def test_wrong_signature_is_refused(client, fake_wechat):
    params = signed(echostr="x")
    params["signature"] = "0" * 40
    assert client.get("/wechat/", params).status_code == 403


def test_follow_event_gets_a_welcome_with_the_member_link(client, fake_wechat):
    response = post(
        client,
        incoming(
            "o_new_0001", "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
        ),
    )
    reply = message_parse(response.content)
    assert reply["ToUserName"] == "o_new_0001" and reply["FromUserName"] == "gh_test"
    assert "欢迎关注" in reply["Content"]
    assert "http://127.0.0.1:8000/m/wechat/?next=/m/" in reply["Content"]


def test_progress_from_a_bound_member_lists_latest_claims(client, fake_wechat):
    claim = ClaimFactory(status=ClaimStatus.APPROVED, amount_fen=108_000)
    wechat_bind(member=claim.member, openid="o_member_0001")
    for word in ("进度", "查询"):
        response = post(
            client,
            incoming(
                "o_member_0001",
                f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{word}]]></Content>",
            ),
        )
        content = reply_content(response)
        assert claim.number in content and "已核准" in content and "1,080.00元" in content


def test_progress_from_someone_not_bound_says_how_to_bind(client, fake_wechat):
    response = post(
        client,
        incoming(
            "o_stranger_1", "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[进度]]></Content>"
        ),
    )
    assert "还没有绑定" in reply_content(response)


def test_other_text_gets_the_menu_text(client, fake_wechat):
    response = post(
        client,
        incoming(
            "o_member_0001",
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>",
        ),
    )
    content = reply_content(response)
    assert "回复“进度”" in content and "/bszn/" in content


def test_unsubscribe_gets_no_reply(client, fake_wechat):
    response = post(
        client,
        incoming(
            "o_x0000001",
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event>",
        ),
    )
    assert response.content == b"success"


def test_stale_timestamp_and_bad_xml_are_refused(client, fake_wechat):
    ts, nonce = "1000000000", "n"
    url = f"/wechat/?timestamp={ts}&nonce={nonce}&signature={wechat_signature(TOKEN, ts, nonce)}"
    assert client.post(url, data=b"<xml/>", content_type="text/xml").status_code == 403
    assert post(client, "not xml").status_code == 400
    entity_bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    assert post(client, entity_bomb).status_code == 400


def test_our_decryption_reads_wechatpys_encryption():
    xml = decrypt(WECHATPY_ENCRYPT, aes_key=AES_KEY, appid=APPID)
    assert message_parse(xml)["Content"] == "进度"


def test_safe_mode_message_is_decrypted_and_answered_encrypted(client, fake_wechat, settings):
    settings.HUZHU_WECHAT = {**settings.HUZHU_WECHAT, "AES_KEY": AES_KEY}
    claim = ClaimFactory(status=ClaimStatus.SUBMITTED)
    wechat_bind(member=claim.member, openid="o_member_0001")
    inner = incoming(
        "o_member_0001", "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[进度]]></Content>"
    )
    sealed = encrypt(inner, aes_key=AES_KEY, appid=APPID)
    params = signed(encrypt_type="aes")
    params["msg_signature"] = wechat_signature(TOKEN, params["timestamp"], params["nonce"], sealed)
    url = "/wechat/?" + "&".join(f"{k}={v}" for k, v in params.items())
    response = client.post(
        url,
        data=f"<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>".encode(),
        content_type="text/xml",
    )
    outer = message_parse(response.content)
    assert outer["MsgSignature"] == wechat_signature(
        TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]
    )
    reply = message_parse(decrypt(outer["Encrypt"], aes_key=AES_KEY, appid=APPID))
    assert claim.number in reply["Content"]

    params["msg_signature"] = "0" * 40
    url = "/wechat/?" + "&".join(f"{k}={v}" for k, v in params.items())
    forged = client.post(
        url,
        data=f"<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>".encode(),
        content_type="text/xml",
    )
    assert forged.status_code == 403


def test_menu_push_sets_the_three_buttons(fake_wechat):
    out = io.StringIO()
    call_command("wechat-menu", "push", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1]) == {"pushed": True, "buttons": 3}
    [menu] = fake_wechat.menus
    assert [b["name"] for b in menu["button"]] == ["在线申请", "我的进度", "办事指南"]
    assert re.search(r"/m/wechat/\?next=/m/claims/new/$", menu["button"][0]["url"])


def test_without_app_id_there_is_no_server_address(client, settings):
    settings.HUZHU_WECHAT = {"APPID": ""}
    assert client.get("/wechat/", {"echostr": "x"}).status_code == 404
