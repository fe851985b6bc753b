"""Union first review and federation review pages; the engine's amount on approval."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import Claim, ClaimFiler, ClaimSource, ClaimStatus, MemberYearLedger
from huzhu.claims.services import claim_submit
from tests.factories import ClaimFactory
from tests.member_pages.images import PDF_BYTES, jpeg_bytes


def submitted(member, user, **data):
    base = {
        "benefit_code": "inpatient",
        "benefit_name": "住院医疗互助",
        "hospital_name": "嵊州市人民医院",
        "admit_date": dt.date(2026, 3, 1),
        "discharge_date": dt.date(2026, 3, 10),
        "self_pay_in_policy_fen": 300_000,
    }
    base.update(data)
    return claim_submit(
        acting_user=user,
        member=member,
        scheme_year=member.enrollments.get(scheme_year__year=2026).scheme_year,
        data=base,
    )


@pytest.fixture
def claim(world):
    return submitted(world.member, world.member.user)


def test_operator_queue_shows_own_union_only_oldest_first(client, world, claim):
    other_claim = submitted(world.other, world.other.user)
    later = submitted(
        world.member, world.member.user, discharge_date=dt.date(2026, 3, 11), invoice_number="X2"
    )
    client.force_login(world.operator)
    page = client.get("/staff/claims/review/").content.decode()
    assert claim.number in page and later.number in page
    assert other_claim.number not in page
    assert page.index(claim.number) < page.index(later.number)
    assert "已等待" in page
    assert client.get(f"/staff/claims/review/{other_claim.pk}/").status_code == 404


def test_operator_first_review_then_reviewer_approves_with_engine_amount(client, world, claim):
    client.force_login(world.operator)
    response = client.post(f"/staff/claims/review/{claim.pk}/act/", {"action": "union_review"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNION_REVIEWED

    client.force_login(world.reviewer)
    page = client.get(f"/staff/claims/review/{claim.pk}/").content.decode()
    # Plan example: 3,000.00 base -> 500.00 deductible, 2,500.00 at 50% = 1,250.00.
    assert '核准后金额：<strong class="num">1,250.00元' in page
    client.post(f"/staff/claims/review/{claim.pk}/act/", {"action": "approve"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim.amount_fen == 125_000
    # The explanation is the engine's own text (plans' explain_outcome via the settlement texts).
    assert "起付线" in claim.explanation and "500.00元" in claim.explanation
    assert claim.plan_version_number == 1 and claim.plan_version_id is not None
    ledger = MemberYearLedger.objects.get(member=world.member)
    assert (ledger.deductible_used_fen, ledger.paid_toward_cap_fen) == (50_000, 125_000)


def test_second_stay_continues_from_the_first_in_the_ledger(world):
    from huzhu.claims.pricing import manual_claim_amount
    from huzhu.claims.services import claim_approve, claim_union_review

    a = submitted(world.member, world.operator)
    a = claim_approve(claim=a, acting_user=world.reviewer, amount=manual_claim_amount)
    b = submitted(
        world.member,
        world.operator,
        admit_date=dt.date(2026, 4, 1),
        discharge_date=dt.date(2026, 4, 20),
        self_pay_in_policy_fen=1_200_000,
    )
    b = claim_approve(claim=b, acting_user=world.reviewer, amount=manual_claim_amount)
    # domain.md worked example: 7,500.00 at 50% + 4,500.00 at 60% = 6,450.00.
    assert (a.amount_fen, b.amount_fen) == (125_000, 645_000)
    del claim_union_review


def test_earlier_stay_approved_later_recomputes_the_later_claim(world):
    from huzhu.claims.pricing import manual_claim_amount
    from huzhu.claims.services import claim_approve

    later = submitted(
        world.member,
        world.operator,
        admit_date=dt.date(2026, 4, 1),
        discharge_date=dt.date(2026, 4, 20),
        self_pay_in_policy_fen=1_200_000,
    )
    later = claim_approve(claim=later, acting_user=world.reviewer, amount=manual_claim_amount)
    # Alone: 11,500.00 above the deductible: 10,000.00 at 50% + 1,500.00 at 60% = 5,900.00.
    assert later.amount_fen == 590_000
    earlier = submitted(world.member, world.operator)
    earlier = claim_approve(claim=earlier, acting_user=world.reviewer, amount=manual_claim_amount)
    later.refresh_from_db()
    # In discharge order the March stay comes first: the totals of the worked example.
    assert (earlier.amount_fen, later.amount_fen) == (125_000, 645_000)
    assert AuditEvent.objects.filter(action="claim.recompute", object_id=str(later.pk)).exists()


def test_override_needs_a_reason_and_fixes_the_amount(client, world):
    claim = submitted(world.member, world.operator)  # operator-filed: straight to federation
    client.force_login(world.reviewer)
    response = client.post(
        f"/staff/claims/review/{claim.pk}/act/", {"action": "override", "override_amount": "900"}
    )
    assert response.status_code == 302
    assert "请填写人工核定金额的原因" in client.get(response["Location"]).content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    client.post(
        f"/staff/claims/review/{claim.pk}/act/",
        {
            "action": "override",
            "override_amount": "900.00",
            "reason": "发票金额有误，按复核结果核定",
        },
    )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim.amount_fen == 90_000 and claim.is_fixed
    assert claim.override_reason == "发票金额有误，按复核结果核定"
    assert MemberYearLedger.objects.get(member=world.member).paid_toward_cap_fen == 90_000
    assert AuditEvent.objects.filter(action="claim.approved", object_id=str(claim.pk)).exists()


def test_reviewer_rejects_with_reason_and_member_sees_it(client, world, claim):
    client.force_login(world.operator)
    client.post(f"/staff/claims/review/{claim.pk}/act/", {"action": "union_review"})
    client.force_login(world.reviewer)
    response = client.post(f"/staff/claims/review/{claim.pk}/act/", {"action": "reject"})
    assert "请填写不予通过的原因" in client.get(response["Location"]).content.decode()
    client.post(
        f"/staff/claims/review/{claim.pk}/act/", {"action": "reject", "reason": "非住院费用"}
    )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    client.force_login(world.member.user)
    page = client.get(f"/m/claims/{claim.pk}/").content.decode()
    assert "未通过" in page and "非住院费用" in page


@pytest.mark.parametrize(
    "who, status, filer, action, message",
    [
        # A member-filed claim goes to the union first.
        ("reviewer", "submitted", ClaimFiler.MEMBER, "approve", "须先经工会初审"),
        ("reviewer", "submitted", ClaimFiler.MEMBER, "reject", "须先经工会初审"),
        # Operators do not decide.
        ("operator", "union_reviewed", ClaimFiler.MEMBER, "approve", "您的角色不能"),
        ("operator", "union_reviewed", ClaimFiler.MEMBER, "return", "您的角色不能"),
        # Final and out-of-table steps.
        ("reviewer", "rejected", ClaimFiler.MEMBER, "approve", "不能变更为"),
        ("reviewer", "approved", ClaimFiler.MEMBER, "reject", "不能变更为"),
        ("reviewer", "returned", ClaimFiler.MEMBER, "approve", "不能变更为"),
        ("operator", "approved", ClaimFiler.MEMBER, "union_review", "不能变更为"),
        ("operator", "submitted", ClaimFiler.MEMBER, "return", "请填写退回原因"),
        # Nobody filed an auto-claim sent to review: nobody could correct it.
        ("reviewer", "submitted", ClaimFiler.PLATFORM, "return", "没有申请人可以修改"),
    ],
)
def test_refused_steps_say_why_and_change_nothing(
    client, world, who, status, filer, action, message
):
    claim = ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026), status=status, filer=filer
    )
    client.force_login(getattr(world, who))
    reason = "" if message.startswith("请填写") else "原因"
    response = client.post(
        f"/staff/claims/review/{claim.pk}/act/", {"action": action, "reason": reason}
    )
    assert response.status_code == 302
    assert message in client.get(response["Location"]).content.decode()
    claim.refresh_from_db()
    assert claim.status == status


def test_operator_cannot_act_on_another_unions_claim(client, world):
    claim = submitted(world.other, world.other.user)
    client.force_login(world.operator)
    response = client.post(f"/staff/claims/review/{claim.pk}/act/", {"action": "union_review"})
    assert response.status_code == 404
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_federation_queue_has_union_reviewed_and_operator_filed_claims(client, world, claim):
    by_operator = submitted(world.other, world.other_operator)
    auto = ClaimFactory(
        enrollment=world.other.enrollments.get(scheme_year__year=2026),
        source=ClaimSource.AUTO,
        filer=ClaimFiler.PLATFORM,
        settlement_id="S9",
        benefit_code="critical_illness",
    )
    client.force_login(world.reviewer)
    page = client.get("/staff/claims/review/").content.decode()
    assert by_operator.number in page and auto.number in page
    assert claim.number not in page  # member-filed, not yet reviewed by the union
    page = client.get(
        f"/staff/claims/review/?union={world.w2.pk}&benefit=critical_illness"
    ).content.decode()
    assert auto.number in page and by_operator.number not in page


def test_members_and_editors_cannot_open_review_pages(client, world):
    client.force_login(world.member.user)
    assert client.get("/staff/claims/review/").status_code == 403


def test_operator_files_a_claim_for_own_member(client, world):
    client.force_login(world.operator)
    response = client.post(
        "/staff/claims/review/new/",
        {
            "member": world.member.pk,
            "benefit_code": "inpatient",
            "hospital_name": "嵊州市中医院",
            "admit_date": "2026-03-01",
            "discharge_date": "2026-03-05",
            "invoice_number": "INV-OP-1",
            "self_pay_in_policy": "800.00",
            "file_invoice": SimpleUploadedFile("a.jpg", jpeg_bytes()),
            "file_settlement_sheet": SimpleUploadedFile("b.jpg", jpeg_bytes()),
            "file_discharge_summary": SimpleUploadedFile("c.pdf", PDF_BYTES),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    claim = Claim.objects.get(member=world.member)
    assert claim.filer == ClaimFiler.UNION_OPERATOR and claim.status == ClaimStatus.SUBMITTED
    assert claim.documents.count() == 3
    # Not for another union's member.
    response = client.get(f"/staff/claims/review/new/?member={world.other.pk}")
    assert response.status_code == 404


def test_staff_document_view_follows_claim_scope(client, world, claim):
    from huzhu.members.documents import document_check, document_store

    doc = document_store(
        member=world.member,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="x.jpg"),
        acting_user=None,
        claim=claim,
    )
    client.force_login(world.operator)
    assert client.get(f"/staff/claims/review/documents/{doc.pk}/").status_code == 200
    client.force_login(world.other_operator)
    assert client.get(f"/staff/claims/review/documents/{doc.pk}/").status_code == 404


def test_auto_claim_sent_to_review_keeps_its_import_amount(client, world):
    auto = ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026),
        source=ClaimSource.AUTO,
        filer=ClaimFiler.PLATFORM,
        settlement_id="S-77",
        amount_fen=88_800,
        explanation="导入时计算：888.00元",
        review_reason="异地就医，需人工复核",
    )
    client.force_login(world.reviewer)
    page = client.get(f"/staff/claims/review/{auto.pk}/").content.decode()
    assert "888.00元" in page and "异地就医，需人工复核" in page
    client.post(f"/staff/claims/review/{auto.pk}/act/", {"action": "approve"})
    auto.refresh_from_db()
    assert auto.status == ClaimStatus.APPROVED and auto.amount_fen == 88_800


def test_operator_corrects_a_returned_claim_the_union_filed(client, world):
    claim = submitted(world.member, world.operator)
    from huzhu.claims.services import claim_return

    claim_return(claim=claim, acting_user=world.reviewer, reason="请补充发票号码")
    client.force_login(world.operator)
    page = client.get(f"/staff/claims/review/{claim.pk}/").content.decode()
    assert "修改后重新提交" in page
    response = client.post(
        f"/staff/claims/review/{claim.pk}/correct/",
        {
            "benefit_code": "inpatient",
            "hospital_name": "嵊州市人民医院",
            "admit_date": "2026-03-01",
            "discharge_date": "2026-03-10",
            "invoice_number": "FIXED-1",
            "self_pay_in_policy": "3000.00",
        },
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.invoice_number == "FIXED-1"
    # A member-filed returned claim is the member's to correct.
    mine = submitted(
        world.member, world.member.user, discharge_date=dt.date(2026, 3, 12), invoice_number="M2"
    )
    claim_return(claim=mine, acting_user=world.operator, reason="照片不清")
    response = client.get(f"/staff/claims/review/{mine.pk}/correct/")
    assert response.status_code == 302


@pytest.mark.parametrize(
    "code, diagnosis, female, amount",
    [
        ("critical_illness", "C34.901", False, 1_000_000),
        ("female_special", "C50.9", True, 500_000),
    ],
)
def test_lump_sum_claims_are_adjudicated_on_approval(world, code, diagnosis, female, amount):
    from huzhu.claims.pricing import manual_claim_amount
    from huzhu.claims.services import claim_approve

    member = world.other if female else world.member
    operator = world.other_operator if female else world.operator
    claim = submitted(member, operator, benefit_code=code, diagnosis_code=diagnosis)
    claim = claim_approve(claim=claim, acting_user=world.reviewer, amount=manual_claim_amount)
    assert claim.amount_fen == amount and claim.explanation
    assert code in MemberYearLedger.objects.get(member=member).lump_sums


@pytest.mark.parametrize(
    "code, diagnosis, female, why",
    [
        ("critical_illness", "K35.8", False, "不在重大疾病互助的范围"),
        ("female_special", "C50.9", False, "限女职工"),
    ],
)
def test_uncovered_lump_sum_cannot_be_approved_and_says_why(
    client, world, code, diagnosis, female, why
):
    member = world.other if female else world.member
    operator = world.other_operator if female else world.operator
    claim = submitted(member, operator, benefit_code=code, diagnosis_code=diagnosis)
    client.force_login(world.reviewer)
    page = client.get(f"/staff/claims/review/{claim.pk}/").content.decode()
    assert why in page and "不予通过" in page
    response = client.post(f"/staff/claims/review/{claim.pk}/act/", {"action": "approve"})
    assert why in client.get(response["Location"]).content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.amount_fen is None
    assert not MemberYearLedger.objects.filter(member=member).exclude(lump_sums={}).exists()


def test_stay_in_the_waiting_period_cannot_be_approved(world):
    from huzhu.claims.error_codes import ClaimError
    from huzhu.claims.pricing import NOT_COVERED, manual_claim_amount
    from huzhu.claims.services import claim_approve

    world.member.enrollments.filter(scheme_year__year=2025).delete()
    enrollment = world.member.enrollments.get(scheme_year__year=2026)
    enrollment.enrolled_on = dt.date(2026, 2, 1)  # covered from 2 May
    enrollment.save()
    claim = submitted(world.member, world.operator)  # admitted 1 March
    with pytest.raises(ClaimError) as exc:
        claim_approve(claim=claim, acting_user=world.reviewer, amount=manual_claim_amount)
    assert exc.value.code == NOT_COVERED and "观察期" in exc.value.message
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_lump_sum_once_per_year(world):
    from huzhu.claims.error_codes import ClaimError
    from huzhu.claims.pricing import manual_claim_amount
    from huzhu.claims.services import claim_approve

    first = submitted(
        world.member, world.operator, benefit_code="critical_illness", diagnosis_code="I21"
    )
    first = claim_approve(claim=first, acting_user=world.reviewer, amount=manual_claim_amount)
    assert first.amount_fen == 1_000_000
    again = submitted(
        world.member,
        world.operator,
        benefit_code="critical_illness",
        diagnosis_code="I21",
        discharge_date=dt.date(2026, 5, 1),
        admit_date=dt.date(2026, 4, 20),
    )
    with pytest.raises(ClaimError) as exc:
        claim_approve(claim=again, acting_user=world.reviewer, amount=manual_claim_amount)
    assert f"已由申请{first.number}领取" in exc.value.message


def test_review_actions_come_from_the_workflow_and_an_auto_claim_offers_no_return(client, world):
    from huzhu.claims.workflow import allowed_steps

    year = world.member.enrollments.get(scheme_year__year=2026)
    auto = ClaimFactory(
        enrollment=year,
        status=ClaimStatus.SUBMITTED,
        filer=ClaimFiler.PLATFORM,
        source=ClaimSource.AUTO,
        amount_fen=125_000,
        review_reason="金额不符",
    )
    by_operator = submitted(world.member, world.operator)
    assert allowed_steps(world.reviewer, auto) == ["approved", "rejected"]
    assert allowed_steps(world.reviewer, by_operator) == ["returned", "approved", "rejected"]
    assert allowed_steps(world.operator, by_operator) == []
    client.force_login(world.reviewer)
    page = client.get(f"/staff/claims/review/{auto.pk}/").content.decode()
    assert 'id="approve"' in page and 'id="reject"' in page and 'id="override"' in page
    assert "退回修改" not in page and 'id="return"' not in page
    page = client.get(f"/staff/claims/review/{by_operator.pk}/").content.decode()
    assert 'id="return"' in page


@pytest.mark.parametrize("channel", ["online", "counter"])
def test_a_filed_claim_leaves_the_creation_trail_of_every_channel(world, channel):
    from tests.claims.trail import assert_created_once

    user = world.member.user if channel == "online" else world.operator
    claim = submitted(world.member, user)
    assert_created_once(claim, to_status="submitted", actor=user)


def test_review_page_shows_papers_as_thumbnails_that_open_the_full_paper(client, world, claim):
    import io

    from PIL import Image

    from huzhu.members.documents import document_check, document_store

    doc = document_store(
        member=world.member,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="发票.jpg"),
        acting_user=None,
        claim=claim,
    )
    client.force_login(world.operator)
    page = client.get(f"/staff/claims/review/{claim.pk}/").content.decode()
    full = f"/staff/claims/review/documents/{doc.pk}/"
    assert f'<a href="{full}" target="_blank"' in page and f'src="{full}?thumb=1"' in page
    thumb = client.get(full + "?thumb=1")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(thumb.content))
    assert max(image.size) <= 360
    client.force_login(world.other_operator)
    assert client.get(full + "?thumb=1").status_code == 404
