"""Member claim pages: file a claim with papers, refusals, timeline, scope."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.claims.models import Claim, ClaimSource, ClaimStatus
from huzhu.members.models import MemberDocument
from tests.factories import ClaimFactory
from tests.member_pages.images import PDF_BYTES, jpeg_bytes

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


def files(**extra):
    out = {
        "file_invoice": SimpleUploadedFile("发票.jpg", jpeg_bytes(), "image/jpeg"),
        "file_settlement_sheet": SimpleUploadedFile("结算单.png", jpeg_bytes(), "image/png"),
        "file_discharge_summary": SimpleUploadedFile("出院小结.pdf", PDF_BYTES, "application/pdf"),
    }
    out.update(extra)
    return out


def claim_form(**overrides):
    data = {
        "benefit_code": "inpatient",
        "hospital_name": "嵊州市人民医院",
        "admit_date": "2026-03-01",
        "discharge_date": "2026-03-10",
        "invoice_number": "33060126000123",
        "total_cost": "15000.00",
        "fund_paid": "9000.00",
        "self_pay_in_policy": "3000.00",
        "self_pay_out_policy": "3000.00",
        "action": "submit",
    }
    data.update(overrides)
    return data


@pytest.fixture
def member_client(client, world):
    client.force_login(world.member.user)
    return client


def test_member_files_a_claim_with_papers(member_client, world):
    response = member_client.post("/m/claims/new/", {**claim_form(), **files()})
    assert response.status_code == 302, response.content.decode()[:3000]
    claim = Claim.objects.get(member=world.member)
    assert claim.status == ClaimStatus.SUBMITTED and claim.filer == "member"
    assert claim.self_pay_in_policy_fen == 300_000 and claim.benefit_name == "住院医疗互助"
    assert sorted(claim.documents.values_list("kind", flat=True)) == [
        "discharge_summary",
        "invoice",
        "settlement_sheet",
    ]
    page = member_client.get(response["Location"]).content.decode()
    assert "已提交" in page and claim.number in page and "timeline" in page


def test_missing_papers_are_named(member_client, world):
    response = member_client.post(
        "/m/claims/new/",
        {**claim_form(), "file_invoice": SimpleUploadedFile("a.jpg", jpeg_bytes())},
    )
    page = response.content.decode()
    assert "请上传：结算单、出院小结" in page
    # The good upload is kept for the next try.
    doc = MemberDocument.objects.get(member=world.member)
    assert f'name="documents" value="{doc.pk}"' in page
    assert not Claim.objects.exists()


def test_a_bad_file_is_refused_by_content_with_its_name(member_client):
    bad = SimpleUploadedFile("发票.jpg", b"not really a picture", "image/jpeg")
    response = member_client.post("/m/claims/new/", {**claim_form(), **files(file_invoice=bad)})
    page = response.content.decode()
    assert "“发票.jpg”不是JPG、PNG、HEIC照片或PDF文件" in page
    assert not Claim.objects.exists()


def test_invoice_qr_prefills_the_form_and_asks_to_check(member_client):
    qr = "01,10,033002100111,88776655,2345.67,20260310,1234,ABCD"
    invoice = SimpleUploadedFile("发票.jpg", jpeg_bytes((1200, 900), qr_text=qr), "image/jpeg")
    data = claim_form(invoice_number="", total_cost="")
    response = member_client.post("/m/claims/new/", {**data, **files(file_invoice=invoice)})
    page = response.content.decode()
    assert "已从发票二维码识别：发票号码88776655，金额2345.67元" in page
    assert 'value="88776655"' in page
    assert not Claim.objects.exists()


def test_invoice_scan_endpoint_returns_the_qr_fields(member_client):
    qr = "01,10,033002100111,11223344,99.50,20260311,1234,ABCD"
    response = member_client.post(
        "/m/claims/scan-invoice/",
        {"file": SimpleUploadedFile("f.jpg", jpeg_bytes((1000, 800), qr_text=qr))},
    )
    body = response.json()
    assert body["invoice"]["number"] == "11223344" and body["invoice"]["amount"] == "99.50"
    assert MemberDocument.objects.filter(pk=body["document"], claim__isnull=True).exists()


def test_invoice_number_already_claimed_is_refused(member_client, world):
    ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026),
        invoice_number="33060126000123",
        admit_date=dt.date(2026, 2, 1),
        discharge_date=dt.date(2026, 2, 5),
    )
    response = member_client.post("/m/claims/new/", {**claim_form(), **files()})
    assert "发票33060126000123已用于申请" in response.content.decode()
    assert Claim.objects.count() == 1


def test_stay_already_auto_claimed_is_stopped_with_a_link(member_client, world):
    auto = ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026),
        source=ClaimSource.AUTO,
        filer="platform",
        settlement_id="S-1",
        status=ClaimStatus.APPROVED,
        admit_date=dt.date(2026, 3, 1),
        discharge_date=dt.date(2026, 3, 10),
    )
    response = member_client.post("/m/claims/new/", {**claim_form(), **files()})
    page = response.content.decode()
    assert f"该次住院已自动受理（申请号{auto.number}）" in page
    assert f'href="/m/claims/{auto.pk}/"' in page
    assert Claim.objects.count() == 1


def test_claim_after_the_window_is_refused_with_the_deadline(member_client, world, monkeypatch):
    world.year.claim_window_days = 30
    world.year.save()
    response = member_client.post("/m/claims/new/", {**claim_form(), **files()})
    page = response.content.decode()
    assert "已超过申请期限：出院日期2026-03-10，须在出院后30天内（2026-04-09前）申请" in page
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("self_pay_in_policy", "12.345", "超过两位小数"),
        ("self_pay_in_policy", "", "请填写政策范围内个人负担"),
        ("discharge_date", "2026-02-01", "出院日期早于入院日期"),
        ("discharge_date", "2026-13-01", "不是有效日期"),
        ("benefit_code", "dental", "没有互助项目“dental”"),
        ("hospital_name", "", "请填写医院"),
    ],
)
def test_bad_form_values_get_a_clear_message(member_client, field, value, message):
    response = member_client.post("/m/claims/new/", {**claim_form(**{field: value}), **files()})
    assert message in response.content.decode()
    assert not Claim.objects.exists()


def test_lump_sum_claim_needs_a_diagnosis(member_client):
    response = member_client.post(
        "/m/claims/new/", {**claim_form(benefit_code="critical_illness"), **files()}
    )
    assert "请填写诊断编码" in response.content.decode()


def test_member_without_bank_account_must_give_one_in_own_name(client, world):
    member = world.other
    client.force_login(member.user)
    card = SimpleUploadedFile("card.jpg", jpeg_bytes())
    data = {**claim_form(), **files(file_bank_card=card)}
    data.update(account_name="张三", bank_name="农业银行", bank_account="6228480099998888")
    response = client.post("/m/claims/new/", data)
    assert "与职工本人姓名不一致" in response.content.decode()
    assert not Claim.objects.exists()
    card = SimpleUploadedFile("card.jpg", jpeg_bytes())
    data = {**claim_form(), **files(file_bank_card=card)}
    data.update(account_name=member.name, bank_name="农业银行", bank_account="6228480099998888")
    response = client.post("/m/claims/new/", data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.bank_account == "6228480099998888"


def test_member_sees_only_own_claims(member_client, world):
    mine = ClaimFactory(enrollment=world.member.enrollments.get(scheme_year__year=2026))
    theirs = ClaimFactory(enrollment=world.other.enrollments.get(scheme_year__year=2026))
    listing = member_client.get("/m/claims/").content.decode()
    assert mine.number in listing and theirs.number not in listing
    assert member_client.get(f"/m/claims/{mine.pk}/").status_code == 200
    assert member_client.get(f"/m/claims/{theirs.pk}/").status_code == 404


def test_member_cannot_open_another_members_document(member_client, world):
    from huzhu.members.documents import document_check, document_store

    doc = document_store(
        member=world.other,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="x.jpg"),
        acting_user=None,
    )
    assert member_client.get(f"/m/documents/{doc.pk}/").status_code == 404
    own = document_store(
        member=world.member,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="x.jpg"),
        acting_user=None,
    )
    response = member_client.get(f"/m/documents/{own.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_returned_claim_is_corrected_and_resubmitted(member_client, world):
    from huzhu.claims.services import claim_return

    member_client.post("/m/claims/new/", {**claim_form(), **files()})
    claim = Claim.objects.get()
    claim_return(claim=claim, acting_user=world.operator, reason="结算单不清晰，请重新拍照")
    page = member_client.get(f"/m/claims/{claim.pk}/").content.decode()
    assert "申请被退回：结算单不清晰，请重新拍照" in page
    response = member_client.post(
        f"/m/claims/{claim.pk}/correct/",
        {
            **claim_form(self_pay_in_policy="3100.00", self_pay_out_policy="2900.00"),
            "file_settlement_sheet": SimpleUploadedFile("new.jpg", jpeg_bytes()),
        },
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.self_pay_in_policy_fen == 310_000
    assert claim.documents.count() == 4
    steps = list(claim.transitions.values_list("to_status", flat=True))
    assert steps == ["submitted", "returned", "submitted"]


def test_coverage_page_is_generated_from_the_plan(member_client, world):
    page = member_client.get("/m/coverage/").content.decode()
    assert "甲公司工会" in page and "（续保）" in page
    assert "起付线：每年500.00元" in page
    assert "超过起付线的部分，全年累计10,000.00元至50,000.00元的补助60%" in page
    assert "全年累计10,000.00元以内的补助50%" in page
    assert "全年累计50,000.00元以上的补助70%" in page
    assert "封顶线：每年最高30,000.00元" in page
    assert "限女职工" in page and "终身限一次" in page
    assert "出院后365天内" in page


def test_coverage_shows_waiting_period_end_for_a_new_enrollment(member_client, world):
    world.member.enrollments.filter(scheme_year__year=2025).delete()
    enrollment = world.member.enrollments.get(scheme_year__year=2026)
    enrollment.enrolled_on = dt.date(2026, 3, 1)
    enrollment.save()
    page = member_client.get("/m/coverage/").content.decode()
    assert "2026-05-30" in page  # coverage start: 1 March + 90 days
    assert "至2026-05-29（观察期内入院不予补助）" in page


def test_coverage_renewal_has_no_waiting_period(member_client, world):
    page = member_client.get("/m/coverage/").content.decode()
    assert "续保无观察期" in page and "2026年度" in page and "2025年度" in page


def test_draft_is_saved_incomplete_then_submitted(member_client, world):
    response = member_client.post(
        "/m/claims/new/",
        {
            "benefit_code": "inpatient",
            "hospital_name": "嵊州市人民医院",
            "admit_date": "2026-03-01",
            "action": "draft",
            "file_invoice": SimpleUploadedFile("fp.jpg", jpeg_bytes()),
        },
    )
    assert response.status_code == 302
    draft = Claim.objects.get()
    assert draft.status == ClaimStatus.DRAFT and draft.documents.count() == 1
    assert draft.benefit_name == "住院医疗互助"
    page = member_client.get(f"/m/claims/{draft.pk}/").content.decode()
    assert "继续填写并提交" in page
    # Staff never see a member's unsent draft.
    from django.test import Client

    staff = Client()
    staff.force_login(world.operator)
    assert staff.get(f"/staff/claims/review/{draft.pk}/").status_code == 404
    # Finish it: the invoice saved with the draft counts.
    rest = files()
    rest.pop("file_invoice")
    response = member_client.post("/m/claims/new/", {**claim_form(), **rest, "draft": draft.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.status == ClaimStatus.SUBMITTED and draft.documents.count() == 3
    assert list(draft.transitions.values_list("to_status", flat=True)) == ["draft", "submitted"]


def test_scanning_an_invoice_already_claimed_is_refused_at_once(member_client, world):
    ClaimFactory(
        enrollment=world.other.enrollments.get(scheme_year__year=2026), invoice_number="99887766"
    )
    qr = "01,10,033002100111,99887766,99.50,20260311,1234,ABCD"
    response = member_client.post(
        "/m/claims/scan-invoice/",
        {"file": SimpleUploadedFile("f.jpg", jpeg_bytes((1000, 800), qr_text=qr))},
    )
    assert response.status_code == 400
    # Another member's claim: refused without its number (that is the other member's business).
    assert response.json()["error"] == "发票99887766已用于其他职工的申请，同一张发票不能重复申请。"
    assert "HZ2026-" not in response.content.decode()
    assert not MemberDocument.objects.filter(member=world.member).exists()

    # The member's own claim with that invoice is named, so she can find it.
    own = ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026),
        invoice_code="033002100111",
        invoice_number="99887766",
    )
    response = member_client.post(
        "/m/claims/scan-invoice/",
        {"file": SimpleUploadedFile("f.jpg", jpeg_bytes((1000, 800), qr_text=qr))},
    )
    assert response.json()["error"] == f"发票99887766已用于申请{own.number}，不能重复申请。"


def test_member_corrects_a_claim_the_union_filed_and_the_federation_returned(member_client, world):
    from huzhu.claims.services import claim_return, claim_submit

    claim = claim_submit(
        acting_user=world.operator,
        member=world.member,
        scheme_year=world.year,
        data={
            "benefit_code": "inpatient",
            "benefit_name": "住院医疗互助",
            "hospital_name": "嵊州市人民医院",
            "admit_date": dt.date(2026, 3, 1),
            "discharge_date": dt.date(2026, 3, 10),
            "invoice_number": "OP-1",
        },
    )
    claim_return(claim=claim, acting_user=world.reviewer, reason="缺少政策范围内个人负担金额")
    assert "修改后重新提交" in member_client.get(f"/m/claims/{claim.pk}/").content.decode()
    response = member_client.post(
        f"/m/claims/{claim.pk}/correct/",
        claim_form(invoice_number="OP-1", self_pay_in_policy="800", total_cost="12800.00"),
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.self_pay_in_policy_fen == 80_000


def test_abandoned_uploads_are_deleted_after_two_days(world):
    from datetime import timedelta

    from django.utils import timezone

    from huzhu.members.documents import document_check, document_prune_pending, document_store

    old = document_store(
        member=world.member,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="x.jpg"),
        acting_user=None,
    )
    path = old.file.path
    filed = ClaimFactory(enrollment=world.member.enrollments.get(scheme_year__year=2026))
    kept = document_store(
        member=world.member,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="y.jpg"),
        acting_user=None,
        claim=filed,
    )
    assert document_prune_pending(now=timezone.now() + timedelta(days=1)) == 0
    assert document_prune_pending(now=timezone.now() + timedelta(days=3)) == 1
    assert not MemberDocument.objects.filter(pk=old.pk).exists()
    assert MemberDocument.objects.filter(pk=kept.pk).exists()
    import os

    assert not os.path.exists(path)


@pytest.mark.parametrize(
    "overrides, message",
    [
        # 总费用 1,000 with 统筹 9,000: the import flags exactly this as 金额不符.
        (
            {"total_cost": "1000.00", "fund_paid": "9000.00", "self_pay_out_policy": ""},
            "金额不符：已填的统筹基金支付、政策范围内个人负担、政策范围外自费合计12000.00元，"
            "超过医疗总费用1000.00元",
        ),
        (
            {"total_cost": "16000.00"},
            "金额不符：统筹基金支付+政策范围内个人负担+政策范围外自费=15000.00元，"
            "医疗总费用为16000.00元",
        ),
        ({"admit_date": "2025-03-01"}, "住院天数超过365天（374天）"),
    ],
)
def test_a_manual_claim_gets_the_imports_checks(member_client, overrides, message):
    response = member_client.post("/m/claims/new/", {**claim_form(**overrides), **files()})
    assert message in response.content.decode()
    assert not Claim.objects.exists()


def test_a_typed_invoice_number_other_than_the_qr_is_refused_showing_both(member_client):
    qr = "01,10,033002100111,12345678,15000.00,20260310,1234,ABCD"
    invoice = SimpleUploadedFile("发票.jpg", jpeg_bytes((1200, 900), qr_text=qr), "image/jpeg")
    response = member_client.post(
        "/m/claims/new/",
        {**claim_form(invoice_number="OP2-0001"), **files(file_invoice=invoice)},
    )
    page = response.content.decode()
    assert "OP2-0001" in page and "12345678" in page and "不一致" in page
    assert not Claim.objects.exists()


def test_one_invoice_is_never_claimed_for_two_members(client, world):
    from huzhu.claims.error_codes import ClaimErrorCode
    from huzhu.claims.filing import claim_file
    from huzhu.core.errors import StepRefused

    qr = "01,10,033002100111,12345678,15000.00,20260310,1234,ABCD"

    def file_for(member, **form):
        from huzhu.members.documents import document_upload

        docs = [
            document_upload(
                member=member,
                kind=kind,
                data=jpeg_bytes((1200, 900), qr_text=qr if kind == "invoice" else None),
                name=f"{kind}.jpg",
                acting_user=member.user,
            )
            for kind in ("invoice", "settlement_sheet", "discharge_summary", "bank_card")
        ]
        raw = {k: v for k, v in claim_form(**form).items() if k != "action"}
        return claim_file(
            acting_user=member.user,
            member=member,
            raw=raw,
            document_ids=[d.pk for d in docs],
            bank={
                "account_name": member.name,
                "bank_name": "中国农业银行嵊州支行",
                "bank_account": "6228480012345678",
            },
            today=TODAY,
        )

    first = file_for(world.member, invoice_number="12345678")
    assert (first.invoice_code, first.invoice_number) == ("033002100111", "12345678")
    # The other member files the same invoice (typed as on the QR): refused.
    with pytest.raises(StepRefused) as err:
        file_for(world.other, invoice_number="12345678")
    assert err.value.code == ClaimErrorCode.DUPLICATE_INVOICE
    assert "已用于其他职工的申请" in err.value.message
    assert Claim.objects.count() == 1


def test_lump_sum_disease_picked_by_its_chinese_name(member_client, world):
    # The form offers the plan's diseases by name; picking one fills the code.
    page = member_client.get("/m/claims/new/").content.decode()
    assert '<option value="C34">支气管和肺恶性肿瘤（肺癌）（C34）</option>' in page
    data = {**claim_form(benefit_code="critical_illness", diagnosis_pick="C34"), **files()}
    response = member_client.post("/m/claims/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    claim = Claim.objects.get(member=world.member)
    assert claim.diagnosis_code == "C34"
    detail = member_client.get(response["Location"]).content.decode()
    assert "C34 支气管和肺恶性肿瘤（肺癌）" in detail


def test_coverage_page_names_the_diseases(member_client):
    page = member_client.get("/m/coverage/").content.decode()
    assert "I21 急性心肌梗死" in page and "C50 乳房恶性肿瘤（乳腺癌）" in page
