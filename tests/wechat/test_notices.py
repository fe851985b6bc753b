"""Which template a notification uses and what its keyword fields say (pure)."""

from datetime import UTC, datetime

import pytest

from huzhu.wechat.notices import ClaimFacts, build_message, template_kind

AT = datetime(2026, 5, 20, 2, 30, tzinfo=UTC)


def facts(**kw):
    base = dict(
        pk=7,
        number="HZ2026-000007",
        benefit="住院医疗互助",
        source="manual",
        amount_fen=108_000,
        hospital="嵊州市人民医院",
        reviewed_by_person=False,
        returned_reason="",
        payment_failure_reason="",
    )
    return ClaimFacts(**{**base, **kw})


@pytest.mark.parametrize(
    ("kind", "f", "expected"),
    [
        ("claim_submitted", facts(source="auto"), "auto_claim"),
        ("claim_approved", facts(source="auto"), "auto_claim"),
        ("claim_approved", facts(source="onestop"), "auto_claim"),
        ("claim_approved", facts(source="auto", reviewed_by_person=True), "approved"),
        ("claim_approved", facts(), "approved"),
        ("claim_rejected", facts(), "approved"),
        ("claim_returned", facts(), "returned"),
        ("claim_paid", facts(), "paid"),
        ("claim_payment_failed", facts(), "payment_failed"),
        ("claim_recomputed", facts(), "adjustment"),
        ("adjustment_top_up", facts(), "adjustment"),
        ("claims_auto", None, "auto_claim"),
        ("claim_submitted", facts(), None),
        ("claim_union_reviewed", facts(), None),
        ("claim_void", facts(), None),
    ],
)
def test_template_kind(kind, f, expected):
    assert template_kind(kind, f) == expected


def test_fields_fit_wechat_limits_and_link_to_the_claim():
    long_reason = "请补充出院小结原件以及住院费用总清单的全部页面并加盖医院公章"
    m = build_message(
        kind="claim_returned",
        text="…",
        facts=facts(returned_reason=long_reason),
        at=AT,
    )
    assert m.path == "/m/claims/7/"
    assert len(m.data["thing5"]) == 20 and m.data["thing5"].endswith("…")
    assert m.data["time6"] == "2026-05-20 10:30"  # Asia/Shanghai
    assert m.sms_params[0] == "HZ2026-000007" and m.sms_params[1] == "已退回"


def test_submitted_auto_claim_has_no_amount_yet():
    m = build_message(
        kind="claim_submitted", text="", facts=facts(source="auto", amount_fen=None), at=AT
    )
    assert m.template_kind == "auto_claim"
    assert "amount3" not in m.data and m.data["phrase4"] == "待审核"


def test_rejection_says_not_passed_with_the_reason():
    m = build_message(
        kind="claim_rejected", text="您的申请（HZ）未通过审核：不属于互助范围", facts=facts(), at=AT
    )
    assert m.data["phrase4"] == "未通过" and m.data["thing5"] == "不属于互助范围"
