"""Demo: manual claims in every state, and a member login to see them on the phone pages.

Runs after the members, enrollment and plan demo steps. Uses the real services (the same
calls the pages make), so each claim has its papers, its timeline and, once approved, the
engine's amount and explanation. Idempotent: a second run finds the demo claims and stops.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from huzhu.claims.models import Claim
from huzhu.claims.services import (
    claim_approve,
    claim_mark_paid,
    claim_reject,
    claim_return,
    claim_save_draft,
    claim_union_review,
    claim_void,
)
from huzhu.enrollment.models import Enrollment
from huzhu.members.documents import document_check, document_store
from huzhu.members.models import DocumentKind
from huzhu.organizations.models import Role, User

from .accounts import member_bind
from .adjudication import manual_claim_amount
from .selectors import plan_for_scheme_year
from .services import claim_file

MARK = "DEMO-M"
UNION_CODE = "SZW001"  # the demo operator's union (organizations.demo)
HOSPITALS = ("嵊州市人民医院", "嵊州市中医院", "浙江大学医学院附属第一医院", "绍兴市人民医院")


def _paper(kind: str, invoice: str = "", amount: str = "", day=None) -> bytes:
    """A small picture standing in for a photographed paper (with a QR code on invoices)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (900, 640), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 880, 620), outline=(160, 40, 40), width=6)
    for y in range(120, 600, 40):
        draw.line((60, y, 840, y), fill=(200, 200, 200), width=2)
    if kind == DocumentKind.INVOICE and invoice:
        import qrcode

        text = f"01,10,033002100111,{invoice},{amount},{day:%Y%m%d},00000000000000000000,DEMO"
        qr = qrcode.make(text, box_size=6, border=2).get_image().convert("RGB")
        image.paste(qr, (40, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _papers(member, user, invoice: str, amount: str, day) -> list[int]:
    ids = []
    for kind in (
        DocumentKind.INVOICE,
        DocumentKind.SETTLEMENT_SHEET,
        DocumentKind.DISCHARGE_SUMMARY,
    ):
        data = _paper(kind, invoice, amount, day)
        checked = document_check(data, name=f"{kind}.jpg", read_qr=kind == DocumentKind.INVOICE)
        ids.append(document_store(member=member, kind=kind, checked=checked, acting_user=user).pk)
    return ids


def _renewed_members(scheme_year, count: int):
    """Members of the demo union renewed into this year (covered from 1 January)."""
    previous = Enrollment.objects.filter(
        scheme_year__year=scheme_year.year - 1, withdrawn_at__isnull=True
    ).values("member_id")
    rows = (
        Enrollment.objects.filter(
            scheme_year=scheme_year,
            union__code=UNION_CODE,
            withdrawn_at__isnull=True,
            member_id__in=previous,
            member__user__isnull=True,
        )
        .select_related("member")
        .order_by("member_id")[:count]
    )
    return [e.member for e in rows]


@transaction.atomic
def run(*, stdout) -> None:
    if Claim.objects.filter(invoice_number__startswith=MARK).exists():
        stdout.write("线上申请演示数据已存在，跳过。")
        _print_login(stdout)
        return
    today = timezone.localdate()
    from huzhu.enrollment.models import SchemeYear

    scheme_year = SchemeYear.objects.filter(start__lte=today, end__gte=today).first()
    if scheme_year is None or plan_for_scheme_year(scheme_year) is None:
        stdout.write("线上申请演示：本年度未加载互助方案（huzhu plan-load），跳过。")
        return
    if (today - scheme_year.start).days < 40:
        stdout.write("线上申请演示：本年度刚开始，尚无可申请的出院记录，跳过。")
        return
    operator = User.objects.filter(username="operator", role=Role.UNION_OPERATOR).first()
    reviewer = User.objects.filter(username="reviewer", role=Role.FEDERATION_REVIEWER).first()
    members = _renewed_members(scheme_year, 4)
    if operator is None or reviewer is None or len(members) < 4:
        stdout.write("线上申请演示：缺少演示账号或演示职工（先运行组织和参保演示），跳过。")
        return
    main, second, third, fourth = members
    users = {}
    for i, member in enumerate(members):
        if not member.bank_account_last4:
            member.bank_name = "中国农业银行嵊州支行"
            member.bank_account = f"62284800{member.pk:011d}"[-19:]
            member.save(update_fields=["bank_name", "bank_account_encrypted", "bank_account_last4"])
        phone = f"1380000{i + 1:04d}"
        users[member.pk] = member_bind(phone=phone, name=member.name, id_number=member.id_number)

    span = (today - scheme_year.start).days
    counter = iter(range(1, 100))

    def stay(days_ago: int, length: int = 7):
        days_ago = min(days_ago, span - length - 1)
        discharge = today - timedelta(days=days_ago)
        return discharge - timedelta(days=length), discharge

    def file(
        member, *, by=None, benefit="inpatient", base="3000.00", total="15000.00", ago=30, diag=""
    ):
        user = by or users[member.pk]
        admit, discharge = stay(ago)
        invoice = f"{MARK}{next(counter):04d}"
        raw = {
            "benefit_code": benefit,
            "hospital_name": HOSPITALS[next(counter) % len(HOSPITALS)],
            "admit_date": admit.isoformat(),
            "discharge_date": discharge.isoformat(),
            "invoice_number": invoice,
            "total_cost": total,
            "fund_paid": "9000.00",
            "self_pay_in_policy": base,
            "self_pay_out_policy": "1200.00",
            "diagnosis_code": diag,
        }
        docs = _papers(member, user, invoice, total, discharge)
        return claim_file(acting_user=user, member=member, raw=raw, document_ids=docs)

    # The main demo member: one claim in most states.
    paid = file(main, ago=120, base="3000.00")
    paid = claim_union_review(claim=paid, acting_user=operator, reason="材料齐全")
    paid = claim_approve(claim=paid, acting_user=reviewer, amount=manual_claim_amount)
    claim_mark_paid(claim=paid, reason="银行回盘：发放成功")
    approved = file(main, ago=60, base="12000.00", total="30000.00")
    approved = claim_union_review(claim=approved, acting_user=operator)
    claim_approve(claim=approved, acting_user=reviewer, amount=manual_claim_amount)
    reviewed = file(main, ago=20, base="1800.00", total="6000.00")
    claim_union_review(claim=reviewed, acting_user=operator, reason="已核对发票原件照片")
    returned = file(main, ago=12, base="2600.00")
    claim_return(claim=returned, acting_user=operator, reason="结算单照片不清晰，请重新拍照上传")
    file(main, ago=5, base="900.00", total="4000.00")  # submitted, waiting for the union
    admit, discharge = stay(3)
    claim_save_draft(
        acting_user=users[main.pk],
        member=main,
        scheme_year=scheme_year,
        data={
            "benefit_code": "inpatient",
            "benefit_name": plan_for_scheme_year(scheme_year).inpatient.name,
            "hospital_name": HOSPITALS[0],
            "admit_date": admit,
            "discharge_date": discharge,
        },
    )
    # Other members: rejected, void, operator-filed, lump sum.
    rejected = file(second, ago=40, base="2000.00")
    claim_union_review(claim=rejected, acting_user=operator)
    claim_reject(
        claim=Claim.objects.get(pk=rejected.pk),
        acting_user=reviewer,
        reason="发票为门诊费用，不属于住院医疗互助范围",
    )
    void = file(second, ago=25, base="1500.00")
    claim_void(claim=void, reason="与医保结算自动受理的申请为同一次住院，按自动受理办理")
    file(third, by=operator, ago=15, base="5200.00", total="20000.00")  # straight to federation
    lump = file(fourth, benefit="critical_illness", ago=50, diag="C34.901", base="8000.00")
    lump = claim_union_review(claim=lump, acting_user=operator)
    claim_approve(claim=lump, acting_user=reviewer, amount=manual_claim_amount)
    count = Claim.objects.filter(invoice_number__startswith=MARK).count() + 1
    stdout.write(
        f"线上申请演示：{count}件手工申请（草稿、已提交、初审、退回、核准、发放、未通过、作废）。"
    )
    _print_login(stdout)


def _print_login(stdout) -> None:
    user = User.objects.filter(role=Role.MEMBER, phone="13800000001").first()
    if user is None:
        return
    stdout.write(
        f"职工登录：/m/ ，手机号 13800000001（{user.first_name}），"
        "点“获取验证码”，验证码打印在运行服务的控制台上。"
    )
