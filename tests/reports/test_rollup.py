"""The claim rollups (reports/rollup.py) equal a fresh count of the claims after every kind of
write: a settlement import with a reversal (COPY / bulk writes), approval with an override,
payment, a failed payment, a recompute, a void, bulk and raw
updates, a delete; and `huzhu report-rollup` checks and rebuilds them.

The expected rollups are computed here in plain Python from the claim rows (local months and
days through Django's time zone, not the triggers' SQL)."""

import datetime as dt
import json
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from huzhu.claims import services
from huzhu.claims.models import AdjustmentItem, Claim, ClaimStatus
from huzhu.claims.payment_steps import claims_record_payment_failure_many
from huzhu.reports.models import ClaimDays, ClaimFacts, ClaimHospitals
from huzhu.reports.rollup import rollup_check, rollup_rebuild, rollups_deferred
from huzhu.settlements.services import settlement_import_file
from tests.factories import (
    ClaimFactory,
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
)
from tests.reports.conftest import PLAN_2026
from tests.settlements.conftest import HEADER, row

pytestmark = pytest.mark.django_db(transaction=False)
S = ClaimStatus


def _channel(c):
    if c.source in ("auto", "onestop"):
        return c.source
    return "counter" if c.filer == "union_operator" else "online"


def _month(when):
    return timezone.localtime(when).strftime("%Y-%m") if when else ""


def expected_rollups():
    facts, days, hospitals = defaultdict(lambda: [0, 0]), Counter(), defaultdict(lambda: [0, 0])
    for c in Claim.objects.all():
        if c.status not in (S.APPROVED, S.PAID):
            continue
        key = (
            c.scheme_year_id,
            c.union_id,
            c.benefit_code,
            c.status,
            _channel(c),
            _month(c.approved_at),
            _month(c.paid_at),
        )
        facts[key][0] += 1
        facts[key][1] += c.amount_fen
        hospitals[(c.scheme_year_id, c.union_id, c.hospital_name)][0] += 1
        hospitals[(c.scheme_year_id, c.union_id, c.hospital_name)][1] += c.amount_fen
        if c.discharge_date and c.approved_at:
            base = (c.scheme_year_id, c.union_id, _channel(c))
            approved = timezone.localtime(c.approved_at).date()
            days[(*base, "a", (approved - c.discharge_date).days)] += 1
            if c.status == S.PAID and c.paid_at:
                paid = timezone.localtime(c.paid_at).date()
                days[(*base, "p", (paid - c.discharge_date).days)] += 1
    return (
        {k: tuple(v) for k, v in facts.items()},
        dict(days),
        {k: tuple(v) for k, v in hospitals.items()},
    )


def kept_rollups():
    """The rollups summed over their slots, keys whose sum is zero left out."""
    facts, days, hospitals = defaultdict(lambda: [0, 0]), Counter(), defaultdict(lambda: [0, 0])
    for f in ClaimFacts.objects.all():
        key = (
            f.scheme_year_id,
            f.union_id,
            f.benefit_code,
            f.status,
            f.channel,
            f.approved_month,
            f.paid_month,
        )
        facts[key][0] += f.claims
        facts[key][1] += f.amount_fen
    for d in ClaimDays.objects.all():
        days[(d.scheme_year_id, d.union_id, d.channel, d.kind, d.days)] += d.claims
    for h in ClaimHospitals.objects.all():
        hospitals[(h.scheme_year_id, h.union_id, h.hospital_name)][0] += h.claims
        hospitals[(h.scheme_year_id, h.union_id, h.hospital_name)][1] += h.amount_fen
    return (
        {k: tuple(v) for k, v in facts.items() if v != [0, 0]},
        {k: v for k, v in days.items() if v},
        {k: tuple(v) for k, v in hospitals.items() if v != [0, 0]},
    )


def assert_rollups_equal_claims():
    assert kept_rollups() == expected_rollups()
    check = rollup_check()
    assert check["ok"], check
    assert check["differences"] == []


def test_rollups_follow_a_settlement_import_with_a_reversal(tmp_path):
    from huzhu.plans.services import plan_load

    y2026 = SchemeYearFactory(year=2026, waiting_period_days=90)
    plan_load(source_text=PLAN_2026.read_text(encoding="utf-8"), source_name="2026.yaml")
    union = UnionFactory(code="WI", name="导入工会")
    members = []
    for i in range(4):
        m = MemberFactory(union=union, name=f"导入{i}")
        EnrollmentFactory(
            member=m, scheme_year=y2026, union=union, enrolled_on=dt.date(2025, 12, 1)
        )
        members.append(m)
    lines = [
        row(f"R{i:03d}", m, base=f"{3000 + 900 * i}.00", admit="2026-03-01", discharge="2026-03-09")
        for i, m in enumerate(members)
    ]
    path = tmp_path / "first.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    settlement_import_file(path=path)
    assert ClaimFacts.objects.filter(claims__gt=0).exists()
    assert_rollups_equal_claims()

    # A second file reverses one stay (its unpaid claim becomes void) after another was paid.
    paid = Claim.objects.filter(status=S.APPROVED, amount_fen__gt=0).order_by("id").first()
    services.claim_mark_paid(claim=paid, paid_at=dt.datetime(2026, 4, 1, 3, tzinfo=dt.UTC))
    reversed_ = Claim.objects.exclude(pk=paid.pk).filter(settlement_id__startswith="R").first()
    path = tmp_path / "second.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                row(
                    f"{reversed_.settlement_id}-R",
                    reversed_.member,
                    base="-3000.00",
                    fund="-5000.00",
                    reverses=reversed_.settlement_id,
                    admit="2026-03-01",
                    discharge="2026-03-09",
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    settlement_import_file(path=path)
    assert Claim.objects.get(pk=reversed_.pk).status == S.VOID
    assert_rollups_equal_claims()


def test_rollups_follow_every_claim_step_and_raw_writes(scheme, users):
    claims = Claim.objects.filter(scheme_year=scheme["year"]).order_by("id")
    reviewer, finance = users["reviewer"], users["finance"]
    assert_rollups_equal_claims()  # the fixture's inserts and updates
    # As if another session had written them (PostgreSQL: a slot per session): the steps
    # below add to and subtract from another slot, and the sums still match.
    for model in (ClaimFacts, ClaimDays, ClaimHospitals):
        model.objects.update(slot=7)

    # Approval with an override (a union-reviewed claim).
    claim = claims.filter(status=S.UNION_REVIEWED).first()
    services.claim_approve(
        claim=claim,
        acting_user=reviewer,
        amount=services.ClaimAmount(amount_fen=125_000),
        override_amount_fen=100_000,
        override_reason="发票金额以审核为准",
    )
    assert_rollups_equal_claims()

    # A failed payment, then the bank pays it; another approved claim paid at once.
    approved = list(claims.filter(status=S.APPROVED, amount_fen__gt=0, payment_failed_at=None))
    claims_record_payment_failure_many(failures={approved[0].pk: "账户不存在"}, acting_user=finance)
    assert_rollups_equal_claims()
    services.claim_mark_paid(claim=Claim.objects.get(pk=approved[0].pk), acting_user=finance)
    services.claim_mark_paid(claim=approved[1], acting_user=finance)
    assert_rollups_equal_claims()

    # A recompute lowers an approved claim (a late earlier stay); another is voided.
    services.claim_recompute(
        claim=approved[3],
        amount=services.ClaimAmount(amount_fen=90_000, plan_version_number=3),
        reason="前一次住院晚到，重新计算",
    )
    services.claim_void(claim=approved[2], reason="重复申请")
    assert_rollups_equal_claims()

    # Bulk and raw writes: a change of union, benefit and hospital; times cleared; a delete.
    some = list(
        claims.filter(status__in=[S.APPROVED, S.PAID])
        .exclude(pk__in=AdjustmentItem.objects.values("claim_id"))
        .values_list("pk", flat=True)[:4]
    )
    Claim.objects.filter(pk__in=some[:2]).update(
        union=users["operator_b"].union, hospital_name="别的医院", benefit_code="x"
    )
    Claim.objects.filter(pk=some[2]).update(discharge_date=None, amount_fen=7)
    Claim.objects.filter(pk=some[3]).update(approved_at=timezone.now(), paid_at=None)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE claims_claim SET status = 'rejected' WHERE id = %s", [some[0]])
    extra = ClaimFactory(enrollment=approved[1].enrollment, status=S.PAID, paid_at=timezone.now())
    assert_rollups_equal_claims()
    Claim.objects.filter(pk=extra.pk).delete()
    assert_rollups_equal_claims()


def _pg_pending_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM huzhu_rollup_pending_facts")
        return cursor.fetchone()[0]


def test_rollups_deferred_add_a_batch_once_at_its_end(scheme, users):
    """A batch writing claims one statement at a time (the settlement import's re-priced
    member-years) queues the rollups' share and adds it once at the end (PostgreSQL: each
    rollup row updated once instead of once per claim); nested blocks add at the outermost
    end; a block that raises still adds what its surviving writes contributed."""
    claims = list(Claim.objects.filter(status=S.APPROVED, amount_fen__gt=0).order_by("id")[:6])
    assert len(claims) == 6
    before = kept_rollups()
    with transaction.atomic():
        with rollups_deferred():
            for c in claims[:3]:
                Claim.objects.filter(pk=c.pk).update(amount_fen=c.amount_fen + 100)
            with rollups_deferred():  # nested: nothing added at its end
                Claim.objects.filter(pk=claims[3].pk).update(status=S.PAID, paid_at=timezone.now())
            if connection.vendor == "postgresql":
                assert kept_rollups() == before  # queued, not yet added
                assert _pg_pending_rows() > 0
        assert_rollups_equal_claims()
        if connection.vendor == "postgresql":
            assert _pg_pending_rows() == 0
        # After the block the triggers add at once again.
        Claim.objects.filter(pk=claims[4].pk).update(amount_fen=1)
        assert_rollups_equal_claims()

    # An error inside the block: the write of the failed savepoint goes, the others stay
    # and are added.
    with transaction.atomic():
        with pytest.raises(LookupError), rollups_deferred():
            Claim.objects.filter(pk=claims[5].pk).update(amount_fen=5)
            try:
                with transaction.atomic():
                    Claim.objects.filter(pk=claims[0].pk).update(amount_fen=6)
                    raise ValueError
            except ValueError:
                pass
            raise LookupError("the batch fails after its writes")
        assert Claim.objects.get(pk=claims[0].pk).amount_fen == claims[0].amount_fen + 100
        assert_rollups_equal_claims()


@pytest.mark.django_db(transaction=True)
def test_rollups_deferred_needs_a_transaction():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's row triggers need no deferral (nothing to check)")
    with pytest.raises(RuntimeError, match="inside a transaction"):
        with rollups_deferred():
            pass


def test_check_finds_a_damaged_rollup_and_rebuild_repairs_it(scheme, capsys):
    ClaimFacts.objects.filter(claims__gt=0).update(amount_fen=1)
    ClaimDays.objects.all().delete()
    check = rollup_check()
    assert not check["ok"] and check["differences_count"] > 0

    with pytest.raises(SystemExit) as exit_:
        call_command("report-rollup", "check")
    assert exit_.value.code == 1
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["ok"] is False and out["differences"]

    call_command("report-rollup", "rebuild")
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["rebuilt"] and out["ok"]
    assert_rollups_equal_claims()

    rollup_rebuild()  # twice changes nothing
    assert_rollups_equal_claims()
