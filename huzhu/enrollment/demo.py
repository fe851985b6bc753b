"""Demo: ~2,000 members of the workplace unions, enrolled in last year and this year.

Deterministic (seeded): the same people every time, and a second run creates nothing. This
year's scheme year carries the example plan's figures (fee 60.00, waiting period 90 days,
claim window 365 days) and is created only when missing: `huzhu plan-load` attaches the plan
to it later. Most of last year's members renew; some leave; new members join, some of them so
recently that they are still inside the waiting period (观察期); a few moved union.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from huzhu.core.bulk import bulk_insert
from huzhu.core.crypto import encrypt_text_many
from huzhu.members.idnumbers import check_digit
from huzhu.members.models import Member
from huzhu.members.personal import PERSONAL_COLUMNS, id_number_index_map, personal_values
from huzhu.organizations.models import Union, UnionKind

from .models import Enrollment, SchemeYear

MEMBERS = 2000
SEED = 330683
FEE_FEN = 6000  # plans/2026.yaml: fee_per_member "60.00"
WAITING_PERIOD_DAYS = 90
CLAIM_WINDOW_DAYS = 365

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "魏吕丁沈姚卢钱俞竺裘商邢尹金楼吕丁应"
)
MALE = "伟强磊军洋勇杰涛明超刚建华辉飞鹏宇浩峰斌波健国志平东海亮林文军锋"
FEMALE = "芳娜秀英敏静丽艳娟霞桂兰玲红云燕萍琴慧婷雪梅莉娇洁美琳倩颖"
BANKS = (
    "中国工商银行嵊州支行",
    "中国农业银行嵊州支行",
    "中国建设银行嵊州支行",
    "中国银行嵊州支行",
    "浙江嵊州农村商业银行",
)
BANK_PREFIX = ("622202", "622848", "621700", "621661", "621058")


def _people(rnd: random.Random) -> list[dict]:
    """The demo population: valid 330683 ID numbers, names, phones, some bank accounts."""
    seen: set[str] = set()
    people = []
    while len(people) < MEMBERS:
        female = rnd.random() < 0.48
        born = date(rnd.randint(1966, 2005), rnd.randint(1, 12), rnd.randint(1, 28))
        order = rnd.randrange(0, 999, 2) + (0 if female else 1)
        first17 = f"330683{born:%Y%m%d}{order:03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        given = FEMALE if female else MALE
        name = rnd.choice(SURNAMES) + "".join(rnd.choices(given, k=rnd.choice((1, 2, 2))))
        phone = f"1{rnd.choice('3589')}{rnd.randint(0, 9)}{rnd.randint(0, 99_999_999):08d}"
        # Most members gave a card when they enrolled; a few did not (the work list of
        # members without a valid card asks them for one).
        bank = rnd.randrange(len(BANKS)) if rnd.random() < 0.97 else None
        account = (
            f"{BANK_PREFIX[bank]}{rnd.randint(0, 10**13 - 1):013d}" if bank is not None else ""
        )
        people.append(
            {
                "id_number": first17 + check_digit(first17),
                "name": name,
                "phone": phone,
                "sex": "female" if female else "male",
                "birth_date": born,
                "bank_name": BANKS[bank] if bank is not None else "",
                "bank_account": account,
            }
        )
    return people


def _scheme_year(year: int) -> SchemeYear:
    scheme_year, _ = SchemeYear.objects.get_or_create(
        year=year,
        defaults={
            "start": date(year, 1, 1),
            "end": date(year, 12, 31),
            "fee_per_member_fen": FEE_FEN,
            "waiting_period_days": WAITING_PERIOD_DAYS,
            "claim_window_days": CLAIM_WINDOW_DAYS,
            "name": f"嵊州市职工住院医疗互助（{year}年度）",
        },
    )
    return scheme_year


def _day(rnd: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rnd.randint(0, max(0, (last - first).days)))


def _plan(people: list[dict], unions: list[Union], today: date):
    """Who is enrolled where, and when: [(person index, year offset, union, enrolled_on)].

    Year offset -1 = last year, 0 = this year. Roughly: 85% were enrolled last year; of
    those 90% renew (5% of them through another union); 15% join new this year, a fifth of
    them within the past 60 days (still inside the waiting period). Each person draws from
    their own seeded generator, so who is enrolled in which year does not depend on the day
    the demo runs (only the dates do). A new member is never enrolled so late that the
    waiting period would outlast the year (a fee for no cover: the import refuses that too).
    """
    this_year = today.year
    window_open = date(this_year - 1, 10, 15)  # enrollment for a year opens in the autumn
    last_new = min(today, date(this_year, 12, 31) - timedelta(days=WAITING_PERIOD_DAYS))
    plan = []
    for i in range(len(people)):
        rnd = random.Random(SEED * 10_000 + i)
        home = unions[i % len(unions)] if rnd.random() < 0.9 else rnd.choice(unions)
        if rnd.random() < 0.85:
            renews = rnd.random() < 0.9
            union = rnd.choice(unions) if rnd.random() < 0.05 else home
            last_window = (date(this_year - 2, 10, 15), date(this_year - 1, 1, 31))
            plan.append((i, -1, home, _day(rnd, *last_window)))
            if renews:
                plan.append(
                    (i, 0, union, _day(rnd, window_open, min(today, date(this_year, 1, 31))))
                )
        else:
            recent = rnd.random() < 0.2
            first = max(window_open, last_new - timedelta(days=60)) if recent else window_open
            plan.append((i, 0, home, _day(rnd, first, last_new)))
    return plan


@transaction.atomic
def run(*, stdout) -> None:
    today = timezone.localdate()
    rnd = random.Random(SEED)
    unions = list(Union.objects.filter(kind=UnionKind.WORKPLACE).order_by("code"))
    if not unions:
        stdout.write("没有基层工会：跳过职工和参保演示数据")
        return
    years = {-1: _scheme_year(today.year - 1), 0: _scheme_year(today.year)}
    people = _people(rnd)
    plan = _plan(people, unions, today)

    # The union of a member is that of their latest enrollment.
    current: dict[int, Union] = {}
    for i, _offset, union, _on in sorted(plan, key=lambda p: p[1]):
        current[i] = union

    index = id_number_index_map(p["id_number"] for p in people)
    existing = {
        index[h]
        for h in Member.objects.filter(id_number_hash__in=list(index)).values_list(
            "id_number_hash", flat=True
        )
    }
    fresh = [i for i, p in enumerate(people) if p["id_number"] not in existing]
    now = timezone.now()
    accounts = iter(
        encrypt_text_many([people[i]["bank_account"] for i in fresh if people[i]["bank_account"]])
    )
    personal = iter(
        personal_values(
            [people[i]["id_number"] for i in fresh], [people[i]["phone"] for i in fresh]
        )
    )
    rows = []
    for i in fresh:
        p = people[i]
        account = p["bank_account"]
        rows.append(
            (
                *next(personal),
                p["name"],
                p["sex"],
                p["birth_date"],
                p["bank_name"],
                next(accounts) if account else "",
                account[-4:],
                current.get(i, unions[i % len(unions)]).id,
                now,
                now,
            )
        )
    bulk_insert(
        Member,
        (
            *PERSONAL_COLUMNS,
            "name",
            "sex",
            "birth_date",
            "bank_name",
            "bank_account_encrypted",
            "bank_account_last4",
            "union",
            "created_at",
            "updated_at",
        ),
        rows,
    )

    member_ids = {
        index[h]: pk
        for h, pk in Member.objects.filter(id_number_hash__in=list(index)).values_list(
            "id_number_hash", "id"
        )
    }
    enrolled = set(
        Enrollment.objects.filter(
            scheme_year__in=years.values(), withdrawn_at__isnull=True
        ).values_list("member_id", "scheme_year_id")
    )
    new_enrollments = []
    for i, offset, union, enrolled_on in plan:
        member_id = member_ids[people[i]["id_number"]]
        scheme_year = years[offset]
        if (member_id, scheme_year.id) in enrolled:
            continue
        new_enrollments.append(
            (member_id, scheme_year.id, union.id, enrolled_on, scheme_year.fee_per_member_fen, now)
        )
    bulk_insert(
        Enrollment,
        ("member", "scheme_year", "union", "enrolled_on", "fee_fen", "created_at"),
        new_enrollments,
    )
    stdout.write(
        f"职工: 新建 {len(rows)} 人（共 {Member.objects.count()} 人）；"
        f"参保: 新建 {len(new_enrollments)} 条"
        f"（{years[-1].year}年度 {years[-1].enrollments.count()} 人，"
        f"{years[0].year}年度 {years[0].enrollments.count()} 人）"
    )
