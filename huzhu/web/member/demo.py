"""Demo: manual claims in every state, and a member login to see them on the phone pages.

Runs after the members, enrollment and plan demo steps. Uses the real services (the same
calls the pages make), so each claim has its papers, its timeline and, once approved, the
engine's amount and explanation. Idempotent: a second run finds the demo claims and stops.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from huzhu.claims.filing import claim_file
from huzhu.claims.member_selectors import plan_for_scheme_year
from huzhu.claims.models import Claim
from huzhu.claims.pricing import manual_claim_amount
from huzhu.claims.services import (
    claim_approve,
    claim_mark_paid,
    claim_reject,
    claim_return,
    claim_save_draft,
    claim_union_review,
)
from huzhu.enrollment.models import Enrollment
from huzhu.members.accounts import member_bind
from huzhu.members.documents import document_check, document_store
from huzhu.members.models import DocumentKind
from huzhu.organizations.models import Role, User

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
        users[member.pk] = member_bind(
            phone=phone, name=member.name, id_number=member.id_number, client="local"
        )

    span = (today - scheme_year.start).days
    counter = iter(range(1, 100))
    _auto_and_onestop(members, scheme_year, today, span, stdout)

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
            # The parts add up to the total (a manual claim's figures are checked).
            "fund_paid": str(Decimal(total) - Decimal(base) - Decimal("1200.00")),
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
    file(third, by=operator, ago=15, base="5200.00", total="20000.00")  # straight to federation
    lump = file(fourth, benefit="critical_illness", ago=50, diag="C34.901", base="8000.00")
    lump = claim_union_review(claim=lump, acting_user=operator)
    claim_approve(claim=lump, acting_user=reviewer, amount=manual_claim_amount)
    count = Claim.objects.filter(invoice_number__startswith=MARK).count() + 1
    stdout.write(
        f"线上申请演示：{count}件手工申请（草稿、已提交、初审、退回、核准、发放、未通过）；"
        "登录职工另有免申即享（含一件因医院退费冲正而作废）和一站式结算的申请。"
    )
    _print_login(stdout)


def _auto_and_onestop(members, scheme_year, today, span: int, stdout) -> None:
    """The login members' own zero-trip claims, through the real channels: a bureau file
    (auto-claims for the first and fourth, a stay of the second that a second file reverses,
    so that claim is voided by the reversal) and a one-stop settlement at the cashier for the
    third (when the demo hospital is registered)."""
    import tempfile
    from pathlib import Path

    from huzhu.settlements.demo import OURS, _Stay
    from huzhu.settlements.services import settlement_import_file

    main, second, third, fourth = members

    def admit(days_ago: int, length: int):
        return today - timedelta(days=min(days_ago, span - length - 1) + length)

    def person(m):
        return {"id_number": m.id_number, "name": m.name, "sex": m.sex}

    prefix = f"DEMO-M{scheme_year.year}-"
    stays = [
        _Stay(f"{prefix}A1", person(main), admit(100, 6), 6, 860_000, hospital=0),
        _Stay(f"{prefix}A2", person(fourth), admit(80, 9), 9, 420_000, hospital=1),
        _Stay(f"{prefix}A3", person(second), admit(75, 4), 4, 250_000, hospital=0),
    ]
    reversed_stay = stays[2]
    files = [
        ("医保结算-登录职工.csv", [s.ours() for s in stays]),
        (
            "医保结算-登录职工-退费冲正.csv",
            [reversed_stay.ours(reverses=reversed_stay.sid, sign=-1)],
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="huzhu-demo-") as tmp:
        for name, lines in files:
            path = Path(tmp) / name
            path.write_text("\n".join([OURS, *lines]) + "\n", encoding="utf-8")
            settlement_import_file(path=path, source="医保局（演示）")

    from huzhu.hospitals.models import Hospital
    from huzhu.hospitals.onestop import OnestopConflict, OnestopInputError, onestop_settle
    from huzhu.hospitals.onestop_schemas import SettleIn

    hospital = Hospital.objects.filter(code="H33068301").first()
    if hospital is None:
        stdout.write("线上申请演示：未登记演示医院，跳过一站式结算。")
        return
    discharge = today - timedelta(days=min(35, span - 8))
    try:
        stay = SettleIn.parse(
            {
                "hospital_code": hospital.code,
                "request_id": f"demo-{prefix}Y1",
                "settlement_id": f"{prefix}Y1",
                "id_number": third.id_number,
                "name": third.name,
                "hospital": hospital.name,
                "admit_date": (discharge - timedelta(days=7)).isoformat(),
                "discharge_date": discharge.isoformat(),
                "total_cost": "26800.00",
                "fund_paid": "17200.00",
                "self_pay_in_policy": "6800.00",
                "self_pay_out_policy": "2800.00",
                "diagnosis_code": "K80.200",
            },
            hospital=hospital,
        )
        answer = onestop_settle(hospital=hospital, stay=stay)
    except (OnestopInputError, OnestopConflict) as exc:
        stdout.write(f"线上申请演示：一站式结算未完成：{exc}")
        return
    if answer.get("code") != "ok":
        stdout.write(f"线上申请演示：一站式结算未完成：{answer.get('message') or answer}")


def _print_login(stdout) -> None:
    user = User.objects.filter(role=Role.MEMBER, phone="13800000001").first()
    if user is None:
        return
    stdout.write(
        f"职工登录：/m/ ，手机号 13800000001（{user.first_name}），"
        "点“获取验证码”，验证码打印在运行服务的控制台上。"
    )
