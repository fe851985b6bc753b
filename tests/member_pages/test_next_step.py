"""What happens next to a claim, and roughly when: the pure rule and the member's page."""

from datetime import date

import pytest

from huzhu.claims.next_step import add_workdays, claim_next_step

FRI = date(2026, 12, 4)  # a Friday


def test_workdays_skip_the_weekend():
    assert add_workdays(FRI, 1) == date(2026, 12, 7)
    assert add_workdays(FRI, 3) == date(2026, 12, 9)
    assert add_workdays(date(2026, 12, 7), 5) == date(2026, 12, 14)


def test_workdays_skip_public_holidays_and_count_makeup_weekends():
    # 国庆节 2026: 1–7 October off; Saturday 10 October is a working day (调休).
    assert add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_a_year_the_holiday_table_lacks_uses_the_federations_dates(settings):
    from huzhu.core.workdays import parse_dates

    settings.HUZHU_HOLIDAYS = frozenset()
    assert add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 1)  # Mon–Fri alone
    settings.HUZHU_HOLIDAYS = parse_dates("2027-01-01，2027-02-16")
    assert add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    settings.HUZHU_MAKEUP_WORKDAYS = parse_dates("2027-01-02")
    assert add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 2)
    with pytest.raises(ValueError, match="2027-13-01"):
        parse_dates("2027-01-01,2027-13-01")


@pytest.mark.parametrize(
    ("status", "filer", "amount", "extra", "expected", "done"),
    [
        ("submitted", "member", None, {}, "所在工会初审，一般3个工作日内（预计12月9日前）", False),
        (
            "submitted",
            "union_operator",
            None,
            {},
            "市总工会审核，一般5个工作日内（预计12月11日前）",
            False,
        ),
        ("submitted", "platform", None, {}, "市总工会审核", False),
        (
            "union_reviewed",
            "member",
            None,
            {},
            "市总工会审核，一般5个工作日内（预计12月11日前）",
            False,
        ),
        ("returned", "member", None, {}, "请按退回意见修改后重新提交", False),
        ("approved", "member", 125000, {}, "一般在核准后30天内（预计1月3日前）到账", False),
        ("approved", "platform", 0, {}, "0.00元，无需发放", True),
        ("approved", "member", 500, {"payment_failed": True}, "银行发放失败", False),
        ("approved", "member", 500, {"has_bank_card": False}, "还没有登记银行卡", False),
        ("approved", "platform", 500, {"payee_kind": "hospital"}, "由医院直接减免", True),
        ("paid", "member", 500, {"paid_on": date(2026, 12, 1)}, "已于2026-12-01发放", True),
        ("rejected", "member", None, {}, "未通过，已办结", True),
        ("void", "platform", None, {}, "已作废", True),
        ("draft", "member", None, {}, "草稿尚未提交", False),
    ],
)
def test_next_step_says_what_and_when(status, filer, amount, extra, expected, done):
    step = claim_next_step(
        status=status, filer=filer, amount_fen=amount, since=FRI, today=FRI, **extra
    )
    assert expected in step.text
    assert step.done is done


def test_member_sees_the_next_step_on_the_claim_and_in_the_list(client, world, monkeypatch):
    from django.utils import timezone

    from tests.member_pages.test_claim_pages import TODAY, claim_form, files

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)

    # Given the member filed a claim: it waits for the union's first review
    client.force_login(world.member.user)
    response = client.post("/m/claims/new/", {**claim_form(), **files()})
    assert response.status_code == 302, response.content.decode()[:2000]
    # Then its page and the list say what comes next and roughly when
    detail = client.get(response["Location"]).content.decode()
    assert 'id="next-step"' in detail and "所在工会初审，一般3个工作日内（预计" in detail
    assert "所在工会初审" in client.get("/m/claims/").content.decode()
