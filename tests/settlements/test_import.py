"""The settlement import: outcomes, claims, idempotency, review reasons, the command."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from huzhu.claims.models import Claim, MemberYearLedger, Notification
from huzhu.settlements.models import SettlementBatch, SettlementRecord, SettlementRowProblem
from huzhu.settlements.services import settlement_import_file
from tests.settlements.conftest import SAMPLE_GBK, row

pytestmark = pytest.mark.django_db


def claims_of(member):
    return list(Claim.objects.filter(member=member).order_by("discharge_date", "benefit_code"))


def test_two_stays_follow_the_worked_example_and_tell_the_member(plans, enroll, write_csv):
    a = enroll(name="甲")
    path = write_csv(
        [
            row("S2", a, base="12000.00", admit="2026-05-01", discharge="2026-05-10"),
            row("S1", a, base="3000.00", discharge="2026-03-10"),
        ]
    )
    result = settlement_import_file(path=path)
    assert result.summary["created"] == 2
    assert result.summary["approved_amount"] == "7700.00"
    first, second = claims_of(a)
    assert (first.amount_fen, second.amount_fen) == (125000, 645000)
    assert first.status == second.status == "approved"
    assert second.breakdown["bands"][1]["base_fen"] == 450000
    assert "7,500.00元按50%、4,500.00元按60%补助，补助6,450.00元" in second.explanation
    # One notice per member per import, a sentence per claim (in claim-number order).
    note = Notification.objects.get(member=a)
    assert note.claim is None and note.kind == "claims_auto"
    assert note.text.split("；\n") == [
        "您在嵊州市人民医院的住院（2026-03-01至03-10）已自动受理住院医疗互助，"
        "金额1,250.00元，无需申请",
        "您在嵊州市人民医院的住院（2026-05-01至05-10）已自动受理住院医疗互助，"
        "金额6,450.00元，无需申请",
    ]
    ledger = MemberYearLedger.objects.get(member=a)
    assert (ledger.deductible_used_fen, ledger.paid_toward_cap_fen) == (50000, 770000)
    assert SettlementRecord.objects.get(settlement_id="S1").batch == result.batch


def test_reimport_of_same_or_overlapping_file_creates_nothing(plans, enroll, write_csv):
    a = enroll()
    lines = [row("S1", a), row("S2", a, admit="2026-06-01", discharge="2026-06-05")]
    first = settlement_import_file(path=write_csv(lines))
    assert first.summary["created"] == 2
    again = settlement_import_file(path=write_csv(lines))
    assert again.summary["created"] == 0
    assert again.summary["duplicates"] == 2
    overlap = settlement_import_file(
        path=write_csv([lines[1], row("S3", a, admit="2026-07-01", discharge="2026-07-02")])
    )
    assert overlap.summary["duplicates"] == 1
    assert overlap.summary["created"] == 1
    assert Claim.objects.count() == 3
    assert SettlementRecord.objects.count() == 3


def test_outcomes_not_enrolled_waiting_period_zero_amount_and_lump_sum(plans, enroll, write_csv):
    import datetime as dt

    renewed = enroll(name="乙")
    new = enroll(name="丙", enrolled_on=dt.date(2026, 1, 10), renewal=False)  # covered from 04-10
    from tests.factories import make_id_number

    stranger = make_id_number()
    path = write_csv(
        [
            row("Z1", renewed, base="300.00"),  # absorbed by the deductible -> 0.00
            row("Z2", renewed, base="1000.00", diag="C34.100", discharge="2026-03-20"),
            row("W1", new, admit="2026-03-01", discharge="2026-03-05"),  # waiting period
            row("N1", stranger),
            row("O1", renewed, admit="2025-03-01", discharge="2025-03-05"),
            row("X1", "330683199901011234"),  # bad check digit
        ]
    )
    s = settlement_import_file(path=path).summary
    assert (s["covered"], s["waiting_period"], s["not_enrolled"], s["out_of_period"]) == (
        2,
        1,
        1,
        1,
    )
    assert s["invalid"] == 1 and s["rows"] == 6
    zero = Claim.objects.get(settlement_id="Z1")
    assert zero.status == "approved" and zero.amount_fen == 0
    # One notice for the member's three claims: the zero one says why.
    text = Notification.objects.get(member=renewed).text
    assert "金额0.00元，无需申请（本次费用未超过起付线）" in text
    assert text.count("已自动受理") == 3 and "已自动受理重大疾病互助" in text
    lump = Claim.objects.get(settlement_id="Z2", benefit_code="critical_illness")
    assert lump.amount_fen == 1_000_000 and lump.status == "approved"
    assert MemberYearLedger.objects.get(member=renewed).lump_sums == {
        "critical_illness": lump.number
    }
    assert s["created"] == 3
    assert (
        s["approved_amount"] == "10400.00"
    )  # 0 + (1000 − 200 left of the deductible) × 50% + 10000
    # Every refused row is listed, numbered as in the file (line 1 is the header): the
    # person not enrolled and the stay outside the plan's period too, with the reason.
    problems = [
        (p.row_number, p.settlement_id, p.field, p.code)
        for p in SettlementRowProblem.objects.order_by("row_number")
    ]
    assert problems == [
        (5, "N1", "id_number", "not_enrolled"),
        (6, "O1", "discharge_date", "out_of_period"),
        (7, "X1", "id_number", "id_number.bad_check_digit"),
    ]
    assert "未参保" in SettlementRowProblem.objects.get(settlement_id="N1").reason
    assert not SettlementRecord.objects.filter(settlement_id="X1").exists()
    assert SettlementRecord.objects.get(settlement_id="N1").row_number == 5


def test_doubtful_stays_go_to_a_reviewer_with_the_reason(plans, enroll, write_csv):
    a = enroll(name="丁")
    path = write_csv(
        [
            row("D1", a, total="99999.00"),
            row("D2", a, admit="2025-01-01", discharge="2026-02-01"),
            row("D3", a, name="别人", discharge="2026-04-01", admit="2026-03-30"),
            row("D4", a, discharge="2026-05-01", admit="2026-04-20"),
        ]
    )
    s = settlement_import_file(path=path).summary
    assert (s["approved"], s["for_review"]) == (1, 3)
    assert "金额不符" in Claim.objects.get(settlement_id="D1").review_reason
    assert "住院天数超过365天" in Claim.objects.get(settlement_id="D2").review_reason
    assert "姓名与职工登记不一致" in Claim.objects.get(settlement_id="D3").review_reason
    assert Claim.objects.get(settlement_id="D1").status == "submitted"
    assert Claim.objects.get(settlement_id="D4").status == "approved"


def test_shared_gbk_sample_with_national_field_names_and_refund(plans, enroll):
    # Enroll four people of the sample (renewals); the others stay not enrolled.
    enroll(id_number="330683197306063816", name="李秀英")  # row 4, refunded by the last row
    enroll(id_number="330683197902034763", name="黄敏")  # C34.100 -> lump sum
    enroll(id_number="330683198703188967", name="杨丽")
    enroll(id_number="330683199512238794", name="王建国")
    result = settlement_import_file(path=SAMPLE_GBK)
    s = result.summary
    assert result.batch.encoding == "gb18030"
    assert s["rows"] == 21
    assert (s["reversals"], s["reversed"]) == (1, 1)
    assert s["covered"] == 3 and s["not_enrolled"] == 16
    reversed_record = SettlementRecord.objects.get(settlement_id="S330683202600000003")
    assert reversed_record.status == "reversed"
    assert reversed_record.reversed_by == "S3306832026R0000003"
    refund = SettlementRecord.objects.get(settlement_id="S3306832026R0000003")
    assert refund.is_reversal and refund.reverses == "S330683202600000003"
    assert not Claim.objects.filter(settlement_id="S330683202600000003").exists()
    # self_pay_in_policy derived: inscp_scp_amt − fund_pay_sumamt = 5456.87 − 3555.09
    record = SettlementRecord.objects.get(settlement_id="S330683202600000004")
    assert record.self_pay_in_policy_fen == 190178
    assert record.self_pay_out_policy_fen == 225500  # 2041.20 + 213.80
    assert Claim.objects.filter(benefit_code="critical_illness").count() == 3  # C34, I63, I63


def test_command_prints_the_json_summary_last(plans, enroll, write_csv):
    a = enroll()
    out = io.StringIO()
    call_command(
        "import-settlements", str(write_csv([row("C1", a)])), "--source", "ybj", stdout=out
    )
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert list(summary) == [
        "rows",
        "created",
        "approved",
        "for_review",
        "covered",
        "duplicates",
        "not_enrolled",
        "waiting_period",
        "out_of_period",
        "reversals",
        "reversed",
        "invalid",
        "approved_amount",
    ]
    assert summary["created"] == 1 and summary["approved_amount"] == "1250.00"
    assert SettlementBatch.objects.get().source == "ybj"


def test_command_exit_codes(plans, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(CommandError) as exc:
        call_command("import-settlements", str(missing), stdout=io.StringIO(), stderr=io.StringIO())
    assert exc.value.returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("import-settlements", str(bad), stdout=out, stderr=io.StringIO())
    assert exc.value.code == 1
    assert json.loads(out.getvalue().strip().splitlines()[-1])["error"] == "bad_columns"
    assert SettlementBatch.objects.get().state == "failed"


def test_notifications_are_delivered_by_a_task_after_the_import_commits(
    plans, enroll, write_csv, django_capture_on_commit_callbacks, capsys, settings
):
    settings.DEBUG = True  # the console channel prints the text only with DEBUG on
    a = enroll(name="周九")
    with django_capture_on_commit_callbacks(execute=True):
        settlement_import_file(path=write_csv([row("N1", a)]))
    note = Notification.objects.get(claim__settlement_id="N1")
    assert note.sent_at is not None and note.channels == "console"
    assert "已自动受理住院医疗互助，金额1,250.00元，无需申请" in capsys.readouterr().out


def test_member_home_shows_each_claim_of_a_notice_on_its_own_line(plans, enroll, write_csv, client):
    from huzhu.organizations.models import Role
    from tests.factories import UserFactory

    a = enroll(name="丁")
    a.user = UserFactory(role=Role.MEMBER, union=None, phone=a.phone)
    a.save(update_fields=["user"])
    settlement_import_file(
        path=write_csv(
            [
                row("H1", a, base="3000.00", discharge="2026-03-10"),
                row("H2", a, base="12000.00", admit="2026-05-01", discharge="2026-05-10"),
            ]
        )
    )
    client.force_login(a.user)
    page = client.get("/m/").content.decode()
    assert "金额1,250.00元，无需申请；<br>您在嵊州市人民医院的住院（2026-05-01至05-10）" in page


def test_claims_are_numbered_member_by_member_in_discharge_order(plans, enroll, write_csv):
    a = enroll(name="甲")
    b = enroll(name="乙")
    # Interleaved in the file and in discharge dates; a lump sum on one of b's stays.
    path = write_csv(
        [
            row("N1", b, admit="2026-05-01", discharge="2026-05-03"),
            row("N2", a, admit="2026-06-01", discharge="2026-06-04"),
            row("N3", b, admit="2026-02-01", discharge="2026-02-03", diag="C34.100"),
            row("N4", a, admit="2026-03-01", discharge="2026-03-04"),
        ]
    )
    settlement_import_file(path=path)
    serial = {c.pk: int(c.number.rsplit("-", 1)[1]) for c in Claim.objects.all()}
    for member in (a, b):
        mine = claims_of(member)  # discharge order, then benefit
        numbers = [serial[c.pk] for c in mine]
        assert numbers == list(range(numbers[0], numbers[0] + len(mine)))
        # ids follow the numbers (the rows are written in that order)
        assert sorted(c.pk for c in mine) == [c.pk for c in mine]
    assert len(claims_of(b)) == 3  # two inpatient claims and the lump sum


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a ledger created meanwhile needs a concurrent writer: PostgreSQL only",
)
def test_member_year_whose_ledger_appeared_meanwhile_is_recomputed(
    plans, enroll, write_csv, year2026, monkeypatch
):
    import huzhu.settlements.importing as importing
    import huzhu.settlements.writing as writing

    a = enroll(name="甲")
    b = enroll(name="乙")
    # Another writer (a cashier's one-stop settle) created a's member-year after the import
    # looked for member-years with history: the import's ledger insert meets it.
    MemberYearLedger.objects.create(member=a, scheme_year=year2026)
    monkeypatch.setattr(importing, "_members_with_history", lambda lp, ids: set())
    conflicts = []
    insert_ledgers = writing.ledgers_insert_frame
    monkeypatch.setattr(
        writing,
        "ledgers_insert_frame",
        lambda *a, **k: conflicts.append(insert_ledgers(*a, **k)) or conflicts[-1],
    )
    result = settlement_import_file(
        path=write_csv([row("M1", a, base="3000.00"), row("M2", b, base="3000.00")])
    )
    assert conflicts == [{(a.pk, year2026.pk)}]  # a went to the recompute, b was bulk-written
    assert result.summary["created"] == 2
    for member in (a, b):
        (claim,) = claims_of(member)
        assert (claim.amount_fen, claim.status) == (125000, "approved")
        ledger = MemberYearLedger.objects.get(member=member, scheme_year=year2026)
        assert (ledger.deductible_used_fen, ledger.paid_toward_cap_fen) == (50000, 125000)


@pytest.mark.django_db(transaction=True)
def test_enrollments_are_read_aside_when_no_transaction_is_open(
    plans, enroll, write_csv, monkeypatch
):
    """The command's and the task's case: the enrolled members are read by a second thread on
    its own connection while the file is parsed; the outcome is the same."""
    from huzhu.settlements import importing

    calls = []
    real = importing._coverages_aside
    monkeypatch.setattr(
        importing, "_coverages_aside", lambda plans: calls.append(len(plans)) or real(plans)
    )
    a, b = enroll(name="甲"), enroll(name="乙")
    path = write_csv([row("S1", a, base="3000.00"), row("S2", b, base="12000.00")])
    result = settlement_import_file(path=path)
    assert calls == [1]
    assert result.summary["created"] == 2 and result.summary["not_enrolled"] == 0
    assert sorted(Claim.objects.values_list("member_id", "enrollment_id", "amount_fen")) == sorted(
        [
            (m.pk, m.enrollments.get(scheme_year__year=2026).pk, fen)
            for m, fen in ((a, 125000), (b, 590000))
        ]
    )


def test_an_open_transaction_sees_its_own_enrollments(plans, enroll, write_csv, monkeypatch):
    """Inside the caller's transaction the enrollments are read on its connection: one it
    has just written (not committed yet) counts."""
    from django.db import transaction

    from huzhu.settlements import importing

    monkeypatch.setattr(importing, "_coverages_aside", None)  # must not be called
    with transaction.atomic():
        a = enroll()
        result = settlement_import_file(path=write_csv([row("S1", a, base="3000.00")]))
    assert result.summary["covered"] == 1 and result.summary["created"] == 1


def test_imported_claims_leave_the_creation_trail_of_every_channel(
    plans, enroll, write_csv, client
):
    from huzhu.organizations.models import Role
    from tests.claims.trail import assert_created_once
    from tests.factories import UserFactory

    m = enroll()
    settlement_import_file(
        path=write_csv(
            [
                row("T1", m),
                row("T2", m, total="1.00", admit="2026-05-01", discharge="2026-05-10"),
            ]
        )
    )
    approved = Claim.objects.get(settlement_id="T1")
    for_review = Claim.objects.get(settlement_id="T2")
    assert_created_once(approved, to_status="approved", bulk=True)
    assert_created_once(for_review, to_status="submitted", bulk=True)
    assert for_review.transitions.get().reason.startswith("金额不符")
    # The review page's 办理记录 shows the creation step.
    client.force_login(UserFactory(role=Role.FEDERATION_REVIEWER, union=None))
    page = client.get(f"/staff/claims/review/{for_review.pk}/").content.decode()
    records = page[page.index("办理记录") :]
    assert "新建 → 已提交" in records and "金额不符" in records
