"""The member-year ledger lock: get-or-create, ordering, and (on PostgreSQL) real row locks."""

import itertools
import threading
import time

import pytest
from django.db import connection, transaction

from huzhu.claims.ledger import (
    LedgerTotals,
    ledger_lock,
    ledger_lock_many,
    ledger_state,
    ledger_write,
)
from huzhu.claims.models import MemberYearLedger
from huzhu.plans.rules.ledger import LedgerState
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory


@pytest.mark.django_db(transaction=True)
def test_lock_outside_a_transaction_is_a_programming_error():
    enrollment = EnrollmentFactory()
    with pytest.raises(transaction.TransactionManagementError):
        ledger_lock(member_id=enrollment.member_id, scheme_year_id=enrollment.scheme_year_id)
    assert not MemberYearLedger.objects.exists()


def test_lock_creates_the_row_once_and_returns_the_same_row(db):
    enrollment = EnrollmentFactory()
    ids = (enrollment.member_id, enrollment.scheme_year_id)
    with transaction.atomic():
        first = ledger_lock(member_id=ids[0], scheme_year_id=ids[1])
        again = ledger_lock(member_id=ids[0], scheme_year_id=ids[1])
    assert first.pk == again.pk
    assert MemberYearLedger.objects.count() == 1
    assert (first.deductible_used_fen, first.version) == (0, 0)


def test_write_stores_totals_and_bumps_version_and_round_trips_engine_state(db):
    enrollment = EnrollmentFactory()
    with transaction.atomic():
        ledger = ledger_lock(
            member_id=enrollment.member_id, scheme_year_id=enrollment.scheme_year_id
        )
        state = LedgerState(
            deductible_used_fen=50_000,
            cumulative_excess_fen=250_000,
            paid_fen=125_000,
            lump_sums_paid=frozenset({"critical_illness"}),
        )
        ledger_write(ledger, LedgerTotals.from_state(state, {"critical_illness": "HZ2026-000009"}))
    stored = MemberYearLedger.objects.get(pk=ledger.pk)
    assert stored.version == 1
    assert stored.lump_sums == {"critical_illness": "HZ2026-000009"}
    assert ledger_state(stored) == state


def test_lock_many_creates_missing_rows_and_returns_each(db):
    year = SchemeYearFactory(year=2026)
    members = [MemberFactory() for _ in range(3)]
    with transaction.atomic():
        ledger_lock(member_id=members[0].pk, scheme_year_id=year.pk)
    pairs = [(m.pk, year.pk) for m in members] + [(members[0].pk, year.pk)]
    with transaction.atomic():
        locked = ledger_lock_many(pairs)
    assert set(locked) == {(m.pk, year.pk) for m in members}
    assert MemberYearLedger.objects.count() == 3


# --- PostgreSQL: real row locks, several connections ---------------------------------------


def _in_thread(fn, results, key):
    def run():
        try:
            results[key] = fn()
        except Exception as exc:  # reported by the test
            results[key] = exc
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_lock_creates_one_row_and_serializes_writers():
    # Given a member-year with no ledger row yet
    enrollment = EnrollmentFactory()
    ids = {"member_id": enrollment.member_id, "scheme_year_id": enrollment.scheme_year_id}
    barrier = threading.Barrier(4)
    spans = {}

    def writer(name):
        def work():
            barrier.wait()
            with transaction.atomic():
                ledger = ledger_lock(**ids)
                start = time.monotonic()
                seen = ledger.paid_toward_cap_fen
                time.sleep(0.2)  # compute while holding the lock
                ledger_write(ledger, LedgerTotals(0, 0, seen + 100))
                spans[name] = (start, time.monotonic())
            return seen

        return work

    # When four connections lock and add 100 fen at the same moment
    results = {}
    threads = [_in_thread(writer(i), results, i) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then nobody failed, one row exists, no update was lost, and the critical sections
    # never overlapped
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    row = MemberYearLedger.objects.get(**ids)
    assert row.paid_toward_cap_fen == 400 and row.version == 4
    assert sorted(results.values()) == [0, 100, 200, 300]
    ordered = sorted(spans.values())
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(ordered))
