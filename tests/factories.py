"""factory-boy factories shared by the whole suite."""

import datetime as dt
import itertools

import factory

from huzhu.enrollment.models import Enrollment, SchemeYear
from huzhu.members.idnumbers import check_digit
from huzhu.members.models import Member
from huzhu.organizations.models import Role, Union, UnionKind, User

_seq = itertools.count(1)


def make_id_number(
    birth: dt.date = dt.date(1980, 1, 1), *, female: bool = False, region: str = "330683"
) -> str:
    """A valid 18-character ID number, unique within the test run."""
    n = next(_seq) % 500
    order = 2 * n + (0 if female else 1)  # 17th digit odd = male
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + check_digit(first17)


class UnionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Union
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"W{n:05d}")
    name = factory.Sequence(lambda n: f"第{n}基层工会")
    kind = UnionKind.WORKPLACE
    parent = None


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.UNION_OPERATOR
    union = factory.SubFactory(UnionFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-123456")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    id_number = factory.LazyFunction(make_id_number)
    name = factory.Sequence(lambda n: f"职工{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    sex = factory.LazyAttribute(lambda o: "male" if int(o.id_number[16]) % 2 else "female")
    birth_date = factory.LazyAttribute(
        lambda o: dt.date(int(o.id_number[6:10]), int(o.id_number[10:12]), int(o.id_number[12:14]))
    )
    union = factory.SubFactory(UnionFactory)


class SchemeYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchemeYear
        django_get_or_create = ("year",)

    year = 2026
    start = factory.LazyAttribute(lambda o: dt.date(o.year, 1, 1))
    end = factory.LazyAttribute(lambda o: dt.date(o.year, 12, 31))
    fee_per_member_fen = 6000
    waiting_period_days = 90


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    member = factory.SubFactory(MemberFactory)
    scheme_year = factory.SubFactory(SchemeYearFactory)
    union = factory.SelfAttribute("member.union")
    enrolled_on = factory.LazyAttribute(lambda o: o.scheme_year.start)
    fee_fen = factory.SelfAttribute("scheme_year.fee_per_member_fen")


# --- claims (huzhu/claims) -----------------------------------------------------------------
from django.utils import timezone  # noqa: E402

from huzhu.claims.models import (  # noqa: E402
    AdjustmentItem,
    Claim,
    ClaimFiler,
    ClaimSource,
    ClaimStatus,
)
from huzhu.claims.numbers import claim_number_next  # noqa: E402


class ClaimFactory(factory.django.DjangoModelFactory):
    """A claim written straight to the database in any status (services are not called)."""

    class Meta:
        model = Claim

    enrollment = factory.SubFactory(EnrollmentFactory)
    member = factory.SelfAttribute("enrollment.member")
    scheme_year = factory.SelfAttribute("enrollment.scheme_year")
    union = factory.SelfAttribute("enrollment.union")
    number = factory.LazyAttribute(lambda o: claim_number_next(year=o.scheme_year.year))
    benefit_code = "inpatient"
    benefit_name = "住院医疗互助"
    source = ClaimSource.MANUAL
    filer = ClaimFiler.MEMBER
    hospital_name = "嵊州市人民医院"
    admit_date = factory.LazyAttribute(lambda o: dt.date(o.scheme_year.year, 5, 1))
    discharge_date = factory.LazyAttribute(lambda o: dt.date(o.scheme_year.year, 5, 10))
    total_cost_fen = 1_000_000
    fund_paid_fen = 600_000
    self_pay_in_policy_fen = 300_000
    self_pay_out_policy_fen = 100_000
    status = ClaimStatus.SUBMITTED
    status_changed_at = factory.LazyFunction(timezone.now)
    amount_fen = factory.LazyAttribute(
        lambda o: 125_000 if o.status in (ClaimStatus.APPROVED, ClaimStatus.PAID) else None
    )


class AdjustmentItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdjustmentItem

    claim = factory.SubFactory(ClaimFactory, status=ClaimStatus.PAID)
    member = factory.SelfAttribute("claim.member")
    kind = "recovery"
    amount_fen = 10_000
    reason = "冲正追回"


def consent_answered(member, *, accept: bool = True):
    """The member has answered the current consent text on /m/ (as if on an earlier login)."""
    from django.utils import timezone

    from huzhu.enrollment.consent import consent_text_current
    from huzhu.enrollment.models import ConsentText, MemberConsent

    text = consent_text_current() or ConsentText.objects.create(
        version=1, body="测试用同意书", published_at=timezone.now()
    )
    MemberConsent.objects.update_or_create(
        member=member,
        defaults={
            "status": "given" if accept else "withdrawn",
            "source": "member",
            "text": text,
            "recorded_at": timezone.now(),
            "member_answered_version": text.version,
        },
    )
