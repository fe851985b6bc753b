"""Claims: one request for one benefit for one stay, its transitions, the member-year ledger.

Writes go through `huzhu.claims.services` (one function per transition); reads through
`huzhu.claims.selectors`. Nothing here decides a business rule.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.query_utils import DeferredAttribute
from django.utils.translation import gettext_lazy as _


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    UNION_REVIEWED = "union_reviewed", _("工会已初审")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("已核准")
    REJECTED = "rejected", _("未通过")
    PAID = "paid", _("已发放")
    VOID = "void", _("已作废")


FINAL_STATUSES = frozenset({ClaimStatus.REJECTED, ClaimStatus.VOID, ClaimStatus.PAID})

# The one definition of the claim status sets the domain talks about (domain.md "Claim states
# and transitions"); every app reads them from here.
# A *live* claim stands for its stay: filed and not rejected or voided (a returned claim is
# live: it is being corrected). Two live claims for one stay are one claim too many.
LIVE_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.UNION_REVIEWED,
    ClaimStatus.RETURNED,
    ClaimStatus.APPROVED,
    ClaimStatus.PAID,
)
# A *computed* claim takes its place in the member-year ledger walk (a returned claim waits
# for its correction; a draft was never filed).
COMPUTED_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.UNION_REVIEWED,
    ClaimStatus.APPROVED,
    ClaimStatus.PAID,
)
# Unpaid claims the platform may void (a reversal, a duplicate found).
VOIDABLE_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.UNION_REVIEWED, ClaimStatus.APPROVED)


class ClaimSource(models.TextChoices):
    AUTO = "auto", _("免申即享")
    MANUAL = "manual", _("线上申请")
    ONESTOP = "onestop", _("一站式结算")


class ClaimFiler(models.TextChoices):
    """Who created the claim; decides whether it needs the union's first review."""

    PLATFORM = "platform", _("平台")
    MEMBER = "member", _("职工本人")
    UNION_OPERATOR = "union_operator", _("工会经办人")


class PayeeKind(models.TextChoices):
    MEMBER = "member", _("职工")
    HOSPITAL = "hospital", _("医院")


def _compact_plan(claim: "Claim"):
    """The Plan of a claim whose breakdown is stored compact (see claims/texts.py)."""
    if claim.plan_version_id is None:
        return None
    from huzhu.plans.models import PlanVersion
    from huzhu.plans.selectors import plan_from_version

    cache = getattr(claim, "_plan_cache", None)
    if cache is None or cache[0] != claim.plan_version_id:
        version = PlanVersion.objects.filter(pk=claim.plan_version_id).first()
        cache = (claim.plan_version_id, plan_from_version(version) if version else None)
        claim._plan_cache = cache
    return cache[1]


class _StoredAttribute(DeferredAttribute):
    """A data descriptor (so it is consulted although the value sits in the instance dict)."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class _BreakdownAttribute(_StoredAttribute):
    """`claim.breakdown`: the stored dict, or the full dict a compact (list) breakdown of a
    bulk-imported claim stands for, rebuilt from the claim's plan version."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if not isinstance(value, list):
            return value
        memo = instance.__dict__.get("_breakdown_memo")
        if memo is not None and memo[0] is value:
            return memo[1]
        from .texts import expand_breakdown

        plan = _compact_plan(instance)
        full = (
            expand_breakdown(
                plan,
                instance.plan_version_number,
                instance.benefit_code,
                instance.diagnosis_code,
                value,
            )
            if plan is not None
            else {}
        )
        instance.__dict__["_breakdown_memo"] = (value, full)
        return full


class _ExplanationAttribute(_StoredAttribute):
    """`claim.explanation`: the stored text, or (none stored, compact breakdown) the text
    rendered from the breakdown and the plan version, as the import used to store it."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if value:
            return value
        compact = instance.__dict__.get("breakdown")
        if not isinstance(compact, list):
            return value
        from .texts import compact_explanation

        plan = _compact_plan(instance)
        return compact_explanation(plan, instance.benefit_code, compact) if plan else value


class BreakdownField(models.JSONField):
    """JSON breakdown; a list is the compact form bulk imports store (claims/texts.py).

    On PostgreSQL the column is `json` (the text, checked), not `jsonb`: nothing queries
    inside a breakdown, and turning a million breakdowns into jsonb was a tenth of the
    server's work when an import writes its claims."""

    descriptor_class = _BreakdownAttribute

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value  # psycopg decodes `json` columns itself
        return super().from_db_value(value, expression, connection)


class ExplanationField(models.TextField):
    descriptor_class = _ExplanationAttribute


class Claim(models.Model):
    # Unique through Meta.constraints: one index that serves both `number = …` and the staff
    # search's `number LIKE 'HZ2026-00%'` (PostgreSQL pattern ops), instead of Django's two.
    number = models.CharField(_("申请编号"), max_length=24)
    # Indexes: a bulk import writes a million claims, and every index costs per row; the
    # composite indexes in Meta serve member and union lookups, and no query selects claims
    # by scheme year alone, enrollment, plan version or user (those FKs keep no index).
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("职工"),
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,  # (member, scheme_year, discharge_date) serves it
    )
    scheme_year = models.ForeignKey(
        "enrollment.SchemeYear",
        verbose_name=_("年度"),
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,
    )
    # The enrollment and union at the time of the claim (a member may change union later).
    enrollment = models.ForeignKey(
        "enrollment.Enrollment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,
    )
    union = models.ForeignKey(
        "organizations.Union",
        verbose_name=_("工会"),
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,  # (union, status) serves it
    )
    benefit_code = models.CharField(_("保障项目代码"), max_length=32)
    benefit_name = models.CharField(_("保障项目"), max_length=64, blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=ClaimSource.choices)
    filer = models.CharField(_("申请人类型"), max_length=16, choices=ClaimFiler.choices)
    payee_kind = models.CharField(
        _("收款方"), max_length=16, choices=PayeeKind.choices, default=PayeeKind.MEMBER
    )
    hospital_code = models.CharField(_("医院代码"), max_length=32, blank=True)

    # The stay. settlement_id is the bureau's id (unique across the region); a manual claim
    # has none until a settlement record is matched to it.
    settlement_id = models.CharField(_("结算流水号"), max_length=64, null=True, blank=True)
    hospital_name = models.CharField(_("医院"), max_length=128, blank=True)
    admit_date = models.DateField(_("入院日期"), null=True, blank=True)
    discharge_date = models.DateField(_("出院日期"), null=True, blank=True)
    invoice_number = models.CharField(_("发票号码"), max_length=64, null=True, blank=True)
    # 发票代码, from the invoice's QR code when it was read; with the number, the invoice's
    # identity (claims/checks.py).
    invoice_code = models.CharField(_("发票代码"), max_length=32, blank=True, default="")
    total_cost_fen = models.BigIntegerField(_("医疗总费用（分）"), null=True, blank=True)
    fund_paid_fen = models.BigIntegerField(_("统筹基金支付（分）"), null=True, blank=True)
    self_pay_in_policy_fen = models.BigIntegerField(
        _("政策范围内个人负担（分）"), null=True, blank=True
    )
    self_pay_out_policy_fen = models.BigIntegerField(
        _("政策范围外自费（分）"), null=True, blank=True
    )
    diagnosis_code = models.CharField(_("诊断编码"), max_length=32, blank=True)

    # The result: amount and breakdown come from the rules engine (or a reviewer's override).
    amount_fen = models.BigIntegerField(_("互助金额（分）"), null=True, blank=True)
    # Bulk-imported claims store a compact breakdown and no explanation; reading either
    # attribute gives the full form (see BreakdownField).
    breakdown = BreakdownField(_("计算明细"), default=dict, blank=True)
    explanation = ExplanationField(_("计算说明"), blank=True)
    # The plan version the amount was computed under: the row, and its number for display and
    # for bulk writers that only know the number.
    plan_version = models.ForeignKey(
        "plans.PlanVersion",
        verbose_name=_("方案版本"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,
    )
    plan_version_number = models.PositiveIntegerField(_("方案版本号"), null=True, blank=True)

    status = models.CharField(
        _("状态"), max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT
    )
    status_changed_at = models.DateTimeField(_("状态变更时间"))
    status_reason = models.TextField(_("最近一次状态变更的原因"), blank=True)
    review_reason = models.TextField(_("转人工审核原因"), blank=True)

    # Fixed: settled at a cashier, paid, or overridden by a reviewer. A recompute never changes
    # a fixed claim; differences become adjustment items.
    is_fixed = models.BooleanField(_("金额已锁定"), default=False)
    override_amount_fen = models.BigIntegerField(_("人工核定金额（分）"), null=True, blank=True)
    # The engine's amount when the reviewer overrode it (domain.md: the adjustment of a fixed
    # claim is the change in its computed amount, never the override's own difference).
    override_computed_fen = models.BigIntegerField(
        _("核定前平台计算金额（分）"), null=True, blank=True
    )
    override_reason = models.TextField(_("人工核定原因"), blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    override_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the platform created the claim.",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("核准时间"), null=True, blank=True)
    paid_at = models.DateTimeField(_("发放时间"), null=True, blank=True)
    payment_failed_at = models.DateTimeField(_("发放失败时间"), null=True, blank=True)
    payment_failure_reason = models.TextField(_("发放失败原因"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("互助申请")
        verbose_name_plural = _("互助申请")
        constraints = [
            models.UniqueConstraint(
                fields=["number"], name="claim_number_unique", opclasses=["varchar_pattern_ops"]
            ),
            # One claim per stay and benefit: the inpatient claim and each lump sum the stay
            # triggered are separate rows with the same settlement id (domain.md "Outcome").
            models.UniqueConstraint(
                fields=["settlement_id", "benefit_code"],
                condition=Q(settlement_id__isnull=False),
                name="claim_one_per_settlement_benefit",
            ),
            # One live claim per invoice (code + number) and benefit (a rejected or void one
            # no longer counts); another member's claim on it is refused by the services.
            models.UniqueConstraint(
                fields=["invoice_code", "invoice_number", "benefit_code"],
                condition=Q(invoice_number__isnull=False) & ~Q(status__in=["rejected", "void"]),
                name="claim_one_live_per_invoice_benefit",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__isnull=True) | Q(amount_fen__gte=0),
                name="claim_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "paid"]) | Q(amount_fen__isnull=False),
                name="claim_approved_has_amount",
            ),
            models.CheckConstraint(
                condition=~Q(payee_kind="hospital") | ~Q(hospital_code=""),
                name="claim_hospital_payee_has_code",
            ),
            models.CheckConstraint(
                condition=Q(admit_date__isnull=True)
                | Q(discharge_date__isnull=True)
                | Q(discharge_date__gte=models.F("admit_date")),
                name="claim_discharge_after_admit",
            ),
            models.CheckConstraint(
                condition=(Q(total_cost_fen__isnull=True) | Q(total_cost_fen__gte=0))
                & (Q(fund_paid_fen__isnull=True) | Q(fund_paid_fen__gte=0))
                & (Q(self_pay_in_policy_fen__isnull=True) | Q(self_pay_in_policy_fen__gte=0))
                & (Q(self_pay_out_policy_fen__isnull=True) | Q(self_pay_out_policy_fen__gte=0)),
                name="claim_base_amounts_not_negative",
            ),
        ]
        indexes = [
            # The review queues (oldest first); approved, paid, void and rejected claims, the
            # bulk of a million-claim import, are not in it.
            models.Index(
                fields=["status", "status_changed_at"],
                name="claim_review_queue",
                condition=Q(status__in=["submitted", "union_reviewed", "returned"]),
            ),
            models.Index(fields=["union", "status"]),
            # The reports and dashboards (huzhu/reports): every column their aggregates over a
            # year's approved and paid claims read, so a GROUP BY over a million claims reads
            # this index alone (PostgreSQL index-only scan, SQLite covering index) instead of
            # the wide rows; (status, scheme year, amount) first also serves the fund balance,
            # the approved-unpaid totals and the largest claims (a backward range).
            models.Index(
                fields=[
                    "status",
                    "scheme_year",
                    "amount_fen",
                    "union",
                    "approved_at",
                    "paid_at",
                    "discharge_date",
                    "benefit_code",
                    "source",
                    "filer",
                ],
                name="claim_report_facts",
            ),
            # Approved claims whose bank payment failed (the finance dashboard, the payment
            # queue): few, and an import writes none, so it costs the import nothing.
            models.Index(
                fields=["status"],
                name="claim_payment_failed",
                condition=Q(payment_failed_at__isnull=False),
            ),
            # Also serves lookups of one member's stay by dates (a member has few claims).
            models.Index(fields=["member", "scheme_year", "discharge_date"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class ClaimTransition(models.Model):
    """One step of a claim's life: from -> to, who (empty = the platform), when, why.

    Append-only. `from_status` is empty for the step that created the claim.
    """

    # Every claim has at least one row (its creation, written in bulk by imports): the
    # (claim, at) index serves lookups by claim, and nothing selects steps by actor, so the
    # two foreign keys keep no index of their own.
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="transitions", db_index=False
    )
    from_status = models.CharField(max_length=16, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ClaimStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["claim", "at"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("claim transitions are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("claim transitions are append-only")


class ClaimNumberCounter(models.Model):
    """The claim-number counter on databases without sequences (SQLite).

    PostgreSQL uses the sequence `claims_claim_number_seq` instead (see numbers.py), so that
    numbering never serializes concurrent writers.
    """

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)


class MemberYearLedger(models.Model):
    """The running totals of one member in one scheme year, and the row writers lock.

    Every writer of a member-year (import, one-stop, approval, recompute) holds this row
    locked (`huzhu.claims.ledger.ledger_lock`) while it computes and writes, so deductible,
    bands and cap hold under concurrency.
    """

    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="year_ledgers",
        db_index=False,  # the unique (member, scheme_year) index below serves it
    )
    scheme_year = models.ForeignKey(
        "enrollment.SchemeYear", on_delete=models.PROTECT, related_name="ledgers"
    )
    deductible_used_fen = models.BigIntegerField(default=0)  # 起付线 consumed so far
    cumulative_excess_fen = models.BigIntegerField(default=0)  # position in the bands
    paid_toward_cap_fen = models.BigIntegerField(default=0)  # inpatient paid, counts to 封顶线
    # Lump-sum benefits paid this year: {benefit_code: claim number}.
    lump_sums = models.JSONField(default=dict, blank=True)
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "scheme_year"], name="ledger_one_per_year"),
            models.CheckConstraint(
                condition=Q(deductible_used_fen__gte=0)
                & Q(cumulative_excess_fen__gte=0)
                & Q(paid_toward_cap_fen__gte=0),
                name="ledger_totals_not_negative",
            ),
        ]


class AdjustmentKind(models.TextChoices):
    TOP_UP = "top_up", _("补发")
    RECOVERY = "recovery", _("追回")


class AdjustmentStatus(models.TextChoices):
    OPEN = "open", _("未结清")
    SETTLED = "settled", _("已结清")


class AdjustmentItem(models.Model):
    """Money owed after a claim became fixed: a top-up to pay or a recovery to net.

    `settled_amount_fen` grows as payments net it (partly if need be); the item is settled
    when it reaches `amount_fen`. The payments app links the payment rows that settle it.
    """

    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="adjustments"
    )
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(_("类型"), max_length=16, choices=AdjustmentKind.choices)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    settled_amount_fen = models.BigIntegerField(_("已结清金额（分）"), default=0)
    reason = models.TextField(_("原因"))
    status = models.CharField(
        _("状态"), max_length=16, choices=AdjustmentStatus.choices, default=AdjustmentStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("调整项")
        verbose_name_plural = _("调整项")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="adjustment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(settled_amount_fen__gte=0)
                & Q(settled_amount_fen__lte=models.F("amount_fen")),
                name="adjustment_settled_within_amount",
            ),
            models.CheckConstraint(
                condition=(Q(status="settled") & Q(settled_amount_fen=models.F("amount_fen")))
                | (Q(status="open") & Q(settled_amount_fen__lt=models.F("amount_fen"))),
                name="adjustment_status_matches_settled",
            ),
        ]
        indexes = [models.Index(fields=["member", "status", "kind"])]

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.settled_amount_fen


class Notification(models.Model):
    """A message to a member, stored first and delivered on commit through the channels."""

    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="notifications",
        db_index=False,  # (member, created_at) serves it
    )
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.CharField(_("类型"), max_length=32)
    text = models.TextField(_("内容"))
    # Comma-separated names of the channels that delivered it, e.g. "console,email".
    channels = models.CharField(_("发送渠道"), max_length=128, blank=True)
    error = models.TextField(_("发送错误"), blank=True)
    # Re-deliveries tried (`notifications_redeliver`); the first delivery after the commit is
    # not counted. The database default serves the bulk inserts that name their columns.
    attempts = models.PositiveSmallIntegerField(_("重发次数"), default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "created_at"])]
