"""Role dashboards (pending work first), the payment-batch warning against the fund balance,
and the claim / member list exports (masked unless the role may reveal; audited)."""

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import AdjustmentItem, Claim
from huzhu.enrollment.models import Enrollment, FeeReceipt
from huzhu.members.models import Member
from huzhu.reports.dashboards import dashboard_for
from huzhu.reports.fund_reports import fund_balance

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 4)


def _cards(board):
    return {c.label: c for c in board.pending}


def test_finance_dashboard_pending_work(scheme, users):
    board = dashboard_for(users["finance"], today=TODAY)
    cards = _cards(board)
    unpaid = [c for c in Claim.objects.all() if c.status == "approved" and c.amount_fen > 0]
    assert cards["已核准待发放"].count == len(unpaid)
    assert cards["已核准待发放"].amount_fen == sum(c.amount_fen for c in unpaid)
    assert cards["发放失败待重发"].count == 1 and cards["发放失败待重发"].urgent
    enrolled = Enrollment.objects.filter(scheme_year__year=2026, withdrawn_at=None)
    no_card = sum(1 for e in enrolled if not e.member.bank_account_last4 or not e.member.bank_name)
    assert cards["参保职工未登记银行卡"].count == no_card
    # WA owes 18*... : every union's due minus received, positive ones only.
    owing = {}
    for e in enrolled:
        owing[e.union_id] = owing.get(e.union_id, 0) + e.fee_fen
    for r in FeeReceipt.objects.filter(scheme_year__year=2026):
        owing[r.union_id] = owing.get(r.union_id, 0) - r.amount_fen
    assert cards["会费未缴"].amount_fen == sum(v for v in owing.values() if v > 0)
    assert cards["会费未缴"].count == sum(1 for v in owing.values() if v > 0)
    assert board.pending[0].label == "已核准待发放"  # pending work comes first


def test_reviewer_dashboard_queues_by_age(scheme, users):
    board = dashboard_for(users["reviewer"], today=TODAY)
    waiting = [
        c
        for c in Claim.objects.all()
        if c.status == "union_reviewed" or (c.status == "submitted" and c.filer != "member")
    ]
    assert _cards(board)["待市总审核"].count == len(waiting)
    assert {q["queue"] for q in board.queues} == {"union_review", "federation_review", "returned"}


def test_operator_dashboard_is_its_subtree(scheme, users, tree):
    board = dashboard_for(users["operator_b"], today=TODAY)
    mine = [
        c
        for c in Claim.objects.filter(union=tree["b"])
        if c.status == "submitted" and c.filer == "member"
    ]
    assert _cards(board)["待工会初审"].count == len(mine)
    figures = {c.label: c for c in board.figures}
    assert (
        figures["2026年度参保人数"].count
        == Enrollment.objects.filter(scheme_year__year=2026, union=tree["b"]).count()
    )


def test_admin_dashboard_fund_position(scheme, users):
    board = dashboard_for(users["admin"], today=TODAY)
    received = sum(r.amount_fen for r in FeeReceipt.objects.all())
    paid = sum(c.amount_fen for c in Claim.objects.all() if c.status == "paid")
    items = list(AdjustmentItem.objects.all())
    rec = sum(i.settled_amount_fen for i in items if i.kind == "recovery")
    top = sum(i.settled_amount_fen for i in items if i.kind == "top_up")
    assert board.fund["received_fen"] == received
    assert board.fund["paid_fen"] == paid  # the 2025 paid claim counts too: all years
    assert board.fund["balance_fen"] == received - paid - top + rec


def test_dashboard_page_shows_pending_first(scheme, users, client):
    client.force_login(users["finance"])
    html = client.get(reverse("web:dashboard")).content.decode()
    assert html.index('id="pending"') < html.index('class="tiles"')
    assert "已核准待发放" in html and "发放失败待重发" in html


def test_batch_page_warns_when_a_batch_exceeds_the_balance(scheme, users, client):
    from huzhu.payments.models import PaymentBatch

    # Given a fund with money in it (a large receipt), a batch 1.00 over the balance warns.
    FeeReceipt.objects.create(
        union=Enrollment.objects.first().union,
        scheme_year=Enrollment.objects.first().scheme_year,
        received_on=dt.date(2026, 1, 2),
        amount_fen=10**10,
    )
    balance = fund_balance()["balance_fen"]
    assert balance > 100
    big = PaymentBatch.objects.create(
        number="DF-BIG",
        payee_kind="member",
        gross_fen=balance + 100,
        total_fen=balance + 100,
        created_by=users["finance"],
    )
    small = PaymentBatch.objects.create(
        number="DF-SMALL",
        payee_kind="member",
        gross_fen=100,
        total_fen=100,
        created_by=users["finance"],
    )
    client.force_login(users["finance"])
    html = client.get(reverse("web:payment_batch", args=[big.pk])).content.decode()
    assert 'id="fund-warning"' in html and "超出 1.00 元" in html
    html = client.get(reverse("web:payment_batch", args=[small.pk])).content.decode()
    assert 'id="fund-warning"' not in html


def _sheet(response):
    assert response.status_code == 200, response.content[:300]
    return list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)


def test_claim_export_keeps_filters_masks_ids_and_is_audited(scheme, users, client):
    client.force_login(users["reviewer"])
    response = client.get(reverse("web:claim_list") + "?status=paid&export=xlsx")
    rows = _sheet(response)[3:]
    paid = Claim.objects.filter(status="paid").exclude(status="draft")
    assert sorted(r[0] for r in rows) == sorted(c.number for c in paid)
    assert all("********" in r[2] for r in rows)
    event = AuditEvent.objects.get(action="claims.export")
    assert event.after["rows"] == len(rows) and event.after["filters"] == {"status": "paid"}
    assert event.after["id_numbers_revealed"] is False


def test_claim_export_reveals_ids_only_when_asked_and_allowed(scheme, users, client):
    client.force_login(users["reviewer"])
    rows = _sheet(client.get(reverse("web:claim_list") + "?status=paid&export=xlsx&reveal=1"))
    ids = {m.id_number for m in Member.objects.all()}
    assert rows[3:] and all(r[2] in ids for r in rows[3:])
    assert AuditEvent.objects.get(action="claims.export").after["id_numbers_revealed"] is True


def test_member_export_is_scoped_and_masks_accounts_for_roles_that_may_not_reveal(
    scheme, users, client, tree
):
    client.force_login(users["operator_b"])
    rows = _sheet(client.get(reverse("web:member_list") + "?export=xlsx"))[3:]
    names = set(Member.objects.filter(union=tree["b"]).values_list("name", flat=True))
    assert {r[0] for r in rows} == names
    assert all("*" in r[1] for r in rows)
    client.force_login(users["reviewer"])  # may reveal ID numbers, not bank accounts
    rows = _sheet(client.get(reverse("web:member_list") + "?export=xlsx&reveal=1"))[3:]
    assert all("*" not in r[1] for r in rows)
    assert all(r[7] is None or "*" in r[7] for r in rows)
    event = AuditEvent.objects.filter(action="members.export").order_by("-id").first()
    assert event.after["id_numbers_revealed"] and not event.after["accounts_revealed"]
