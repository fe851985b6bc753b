"""Demo: the bureau's settlement files for the demo members, so auto-claims exist in several
states (approved, 0.00, sent to a reviewer, lump sums, one voided by a reversal).

Loads this year's plan (the example plan of domain.md) through `plan_load` when the year has
none, then imports two generated files through the same service as the command:
1. our field names, UTF-8: covered stays, a deductible-only stay (0.00), a stay whose
   amounts do not add up (to a reviewer), cancer diagnoses (lump sums), a new member inside
   the waiting period, a person who is not enrolled, a refund row and a repeated row;
2. the national platform's field names, GBK: a refund of a stay stored by file 1 (its claim
   becomes void, the member's later stays are recomputed) and a stay that arrives late.
Deterministic; a second run imports nothing new (every row is a duplicate).
"""

from __future__ import annotations

import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

from django.utils import timezone

from huzhu.enrollment.models import Enrollment, SchemeYear
from huzhu.members.idnumbers import check_digit

from .services import settlement_import_file

SEED = 20260501
HOSPITALS = [
    ("H33068301", "嵊州市人民医院", "3"),
    ("H33068302", "嵊州市中医院", "2"),
    ("H33010001", "浙江大学医学院附属第一医院", "3"),
]
PLAN_YAML = """\
year: {year}
name: 嵊州市职工住院医疗互助（{year}年度）
period: {{start: {year}-01-01, end: {year}-12-31}}
fee_per_member: "60.00"
waiting_period_days: 90
claim_window_days: 365
benefits:
  - code: inpatient
    name: 住院医疗互助
    base: self_pay_in_policy
    deductible: {{amount: "500.00", per: year}}
    tiers:
      - {{up_to: "10000.00", ratio: "0.50"}}
      - {{up_to: "50000.00", ratio: "0.60"}}
      - {{ratio: "0.70"}}
    cap: {{amount: "30000.00", per: year}}
  - code: critical_illness
    name: 重大疾病互助
    lump_sum: "10000.00"
    diagnoses: ["C00-C97", "I21", "I60-I64"]
    once_per: year
  - code: female_special
    name: 女职工特殊疾病互助
    lump_sum: "5000.00"
    sex: female
    diagnoses: ["C50", "C53", "C54", "C56"]
    once_per: lifetime
"""
OURS = (
    "settlement_id,visit_id,id_number,name,hospital_code,hospital,hospital_level,admit_date,"
    "discharge_date,total_cost,fund_paid,self_pay_in_policy,self_pay_out_policy,diagnosis_code,"
    "out_of_area,reverses"
)
NATIONAL = (
    "setl_id,mdtrt_id,certno,psn_name,fixmedins_code,fixmedins_name,hosp_lv,begndate,enddate,"
    "medfee_sumamt,inscp_scp_amt,fund_pay_sumamt,fulamt_ownpay_amt,overlmt_selfpay,diag_code,"
    "refd_setl_flag"
)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _ensure_plan(year: SchemeYear, stdout) -> None:
    from huzhu.plans.models import PlanVersion
    from huzhu.plans.services import plan_load

    if PlanVersion.objects.filter(scheme_year=year).exists():
        return
    plan_load(source_text=PLAN_YAML.format(year=year.year), source_name=f"demo-{year.year}.yaml")
    stdout.write(f"  方案：已加载{year.year}年度示例方案")


class _Stay:
    def __init__(self, sid, person, admit, days, in_policy, *, diag="J18.900", hospital=0):
        self.sid = sid
        self.person = person
        self.admit = admit
        self.discharge = admit + timedelta(days=days)
        self.in_policy = in_policy
        self.fund = in_policy * 3
        self.out_policy = in_policy // 10
        self.total = self.fund + self.in_policy + self.out_policy
        self.diag = diag
        self.hospital = HOSPITALS[hospital]

    def ours(self, *, total=None, reverses="", sign=1) -> str:
        code, name, level = self.hospital
        amounts = [total if total is not None else self.total, self.fund, self.in_policy]
        amounts = [sign * a for a in amounts] + [sign * self.out_policy]
        return ",".join(
            [
                self.sid if sign > 0 else f"{self.sid}-R",
                f"V{self.sid}",
                self.person["id_number"],
                self.person["name"],
                code,
                name,
                level,
                self.admit.isoformat(),
                self.discharge.isoformat(),
                *[_yuan(a) for a in amounts],
                self.diag,
                "0",
                reverses,
            ]
        )

    def national(self, *, refund=False, sid=None) -> str:
        code, name, level = self.hospital
        s = -1 if refund else 1
        return ",".join(
            [
                sid or self.sid,
                f"V{self.sid}",
                self.person["id_number"],
                self.person["name"],
                code,
                name,
                level,
                self.admit.isoformat(),
                self.discharge.isoformat(),
                _yuan(s * self.total),
                _yuan(s * (self.fund + self.in_policy)),  # inscp_scp_amt
                _yuan(s * self.fund),
                _yuan(s * self.out_policy),
                "0.00",
                self.diag,
                "1" if refund else "0",
            ]
        )


def _people(year: SchemeYear):
    """Renewed members (covered all year), new ones still waiting (with their coverage start)."""
    previous = set(
        Enrollment.objects.filter(
            scheme_year__year=year.year - 1, withdrawn_at__isnull=True
        ).values_list("member_id", flat=True)
    )
    enrolled = (
        Enrollment.objects.filter(scheme_year=year, withdrawn_at__isnull=True)
        .select_related("member")
        .order_by("member__id_number_hash")
    )
    renewed, waiting = [], []
    for e in enrolled[:4000]:
        person = {"id_number": e.member.id_number, "name": e.member.name, "sex": e.member.sex}
        if e.member_id in previous:
            renewed.append(person)
        else:
            waiting.append((person, e.enrolled_on + timedelta(days=year.waiting_period_days)))
    return renewed, waiting


def run(*, stdout) -> None:
    today = timezone.localdate()
    year = SchemeYear.objects.filter(year=today.year).first()
    if year is None:
        stdout.write("  结算导入：本年度尚未建立，跳过")
        return
    _ensure_plan(year, stdout)
    # Last year's members were covered by last year's plan: load it too, so their coverage
    # pages show what it paid instead of "not published".
    last = SchemeYear.objects.filter(year=today.year - 1).first()
    if last is not None:
        _ensure_plan(last, stdout)
    renewed, waiting = _people(year)
    if len(renewed) < 30:
        stdout.write("  结算导入：本年度参保职工太少，跳过")
        return
    rnd = random.Random(SEED)
    start = date(today.year, 1, 5)
    last_admit = max(start + timedelta(days=30), today - timedelta(days=20))
    span = (last_admit - start).days
    prefix = f"DEMO{today.year}"

    def day() -> date:
        return start + timedelta(days=rnd.randrange(span))

    women = [p for p in renewed if p["sex"] == "female"]
    stays = []
    for i, person in enumerate(renewed[:40]):
        base = rnd.choice([48000, 150000, 320000, 860000, 1_200_000, 2_450_000])
        stays.append(
            _Stay(f"{prefix}{i:05d}", person, day(), rnd.randint(2, 15), base, hospital=i % 3)
        )
    # A second and a third stay for some members: their deductible and bands carry over.
    for i, person in enumerate(renewed[:8]):
        stays.append(_Stay(f"{prefix}{100 + i:05d}", person, day(), 5, 600_000, hospital=1))
    zero = _Stay(f"{prefix}00200", renewed[41], day(), 3, 30_000)  # under the deductible
    cancer = _Stay(f"{prefix}00201", renewed[42], day(), 12, 900_000, diag="C34.100", hospital=2)
    breast = None
    if women:
        breast = _Stay(f"{prefix}00202", women[-1], day(), 10, 700_000, diag="C50.901", hospital=2)
    doubtful = _Stay(f"{prefix}00203", renewed[43], day(), 6, 400_000)
    refunded = _Stay(f"{prefix}00204", renewed[44], day(), 4, 250_000)
    stranger_id = "33068319800101" + "999"
    stranger = {"id_number": stranger_id + check_digit(stranger_id), "name": "非会员"}
    outsider = _Stay(f"{prefix}00205", stranger, day(), 4, 300_000)
    lines = [s.ours() for s in stays]
    lines += [zero.ours(), cancer.ours(), doubtful.ours(total=doubtful.total + 123_456)]
    lines += [refunded.ours(), refunded.ours(reverses=refunded.sid, sign=-1), outsider.ours()]
    if breast:
        lines.append(breast.ours())
    for i, (person, coverage_start) in enumerate(waiting[:3]):
        admit = min(coverage_start - timedelta(days=10), today - timedelta(days=5))
        lines.append(_Stay(f"{prefix}003{i:02d}", person, admit, 3, 200_000).ours())
    lines.append(stays[0].ours())  # the bureau sent one row twice
    # File 2 (national names, GBK): a refund of a stay file 1 stored, and a late stay.
    target = stays[1]
    late = _Stay(f"{prefix}00400", target.person, start, 3, 300_000, hospital=1)
    national = [target.national(refund=True, sid=f"{target.sid}-R"), late.national()]
    with tempfile.TemporaryDirectory(prefix="huzhu-demo-") as tmp:
        first = Path(tmp) / f"医保结算-{today.year}-第一批.csv"
        first.write_text("\n".join([OURS, *lines]) + "\n", encoding="utf-8")
        second = Path(tmp) / f"医保结算-{today.year}-第二批-国家平台字段.csv"
        second.write_bytes(("\r\n".join([NATIONAL, *national]) + "\r\n").encode("gb18030"))
        for path in (first, second):
            result = settlement_import_file(path=path, source="demo-bureau")
            s = result.summary
            stdout.write(
                f"  结算导入 {path.name}: {s['rows']}行，新建申请{s['created']}件"
                f"（核准{s['approved']}，待审{s['for_review']}），重复{s['duplicates']}，"
                f"核准金额{s['approved_amount']}元"
            )
