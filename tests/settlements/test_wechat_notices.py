"""The auto-claims a settlement import creates reach bound members as WeChat template
messages (a single claim with its amount; several as one digest)."""

import pytest

from huzhu.claims.models import Notification
from huzhu.settlements.services import settlement_import_file
from huzhu.wechat.services import wechat_bind
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db


def test_import_auto_claims_are_sent_as_template_messages(
    plans, enroll, write_csv, fake_wechat, django_capture_on_commit_callbacks
):
    one, two = enroll(name="甲"), enroll(name="乙")
    wechat_bind(member=one, openid="o_import_one")
    wechat_bind(member=two, openid="o_import_two")
    path = write_csv(
        [
            row("W1", one, base="3000.00", discharge="2026-03-10"),
            row("W2", two, base="3000.00", discharge="2026-03-10"),
            row("W3", two, base="12000.00", admit="2026-05-01", discharge="2026-05-10"),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        settlement_import_file(path=path)

    by_user = {m["touser"]: m for m in fake_wechat.messages}
    single = by_user["o_import_one"]
    assert single["template_id"] == "tpl_auto_claim"
    assert single["data"]["amount3"]["value"] == "1250.00元"
    assert single["data"]["phrase4"]["value"] == "已自动受理"
    assert "/m/wechat/?next=/m/claims/" in single["url"]
    digest = by_user["o_import_two"]
    assert digest["template_id"] == "tpl_auto_claim"
    assert digest["url"].endswith("/m/wechat/?next=/m/claims/")
    assert set(Notification.objects.values_list("channels", flat=True)) == {"wechat"}
