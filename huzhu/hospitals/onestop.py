"""One-stop settlement at discharge (一站式结算): the hospital cashier deducts the mutual aid.

Three services, called by the API (`huzhu.api.onestop`) and nothing else needs more:
- `onestop_presettle(hospital=, stay=)`: the amount and its breakdown; writes nothing.
- `onestop_settle(hospital=, stay=)`: commits an `approved`, fixed claim whose
  payee is the hospital (plus one per lump sum the stay triggers), under the member-year
  ledger lock. Idempotent per (hospital, request_id); a settlement id already settled
  answers the earlier result with `"duplicate": true`.
- `onestop_cancel(hospital=, cancel=)`: the cashier's refund, with a reversal's
  effect (domain.md): the claims are voided (a paid one becomes a recovery item), the later
  stays of the member-year are recomputed (unfixed ones re-priced, fixed ones get
  adjustment items), the ledger is rewritten.

The services take parsed bodies (`huzhu.hospitals.onestop_schemas`: `StayIn`, `SettleIn`,
`CancelIn`, whose `parse` raises `OnestopInputError` naming the first wrong field). Every
answer is a dict with a machine-usable `code` (`OnestopCode`); a stay without the plan's base
amount raises `OnestopInputError` too; a reused request_id with another body raises
`OnestopConflict`.

Order and speed: the settle path is built for the cashier's real time. In the usual case
(the new stay is the latest of the member-year, or every later stay is fixed) the amount comes
from the locked ledger row alone (`adjudicate_stay`): a cashier's settlement is priced against
the year as it stands, so concurrent settlements share deductible and cap in commit order.
Only when a later stay is still unfixed is the whole year walked again with the new stay
inserted by (discharge date, settlement id): unfixed later claims are re-priced, fixed ones
get adjustment items (domain.md).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, connection, connections, transaction

from huzhu.api.keys import api_keys_forget
from huzhu.claims import texts
from huzhu.claims.ledger import LedgerTotals, ledger_apply, ledger_lock, ledger_state, ledger_write
from huzhu.claims.models import (
    COMPUTED_STATUSES,
    LIVE_STATUSES,
    AdjustmentKind,
    Claim,
    ClaimSource,
    ClaimStatus,
    MemberYearLedger,
)
from huzhu.claims.numbers import format_claim_number
from huzhu.claims.onestop_writes import (
    claim_sequences,
    deliver_after_commit,
    prepared_cursor,
    write_settlement,
)
from huzhu.claims.onestop_writes import reserve_claims as _reserve_claims
from huzhu.claims.services import (
    ClaimAmount,
    adjustment_create,
    claim_effective_fen,
    claim_rows_onestop,
    claim_void,
)
from huzhu.claims.services.repricing import (
    YearWalk,
    claim_is_settled,
    member_year_reprice,
    stay_amount,
    year_claims_locked,
)
from huzhu.core.crypto import blind_indexes
from huzhu.core.money import fen_to_yuan
from huzhu.enrollment.consent import WITHHELD as CONSENT_WITHHELD
from huzhu.enrollment.models import Enrollment, MemberConsent, SchemeYear
from huzhu.enrollment.selectors import renewal_sql
from huzhu.members.models import Member
from huzhu.plans.models import PlanVersion
from huzhu.plans.rules.amounts import SPACES
from huzhu.plans.rules.ledger import (
    Coverage,
    CoveredStay,
    LedgerState,
    adjudicate_stay,
)
from huzhu.plans.schema import Plan
from huzhu.plans.selectors import plan_from_version
from huzhu.settlements.frames import review_reasons

from .models import Hospital, OnestopAction, OnestopRequest
from .onestop_schemas import LABELS, CancelIn, OnestopCode, OnestopInputError, SettleIn, StayIn

__all__ = [
    "OnestopCode",
    "OnestopConflict",
    "OnestopInputError",
    "caches_clear",
    "hospital_of_key",
    "onestop_cancel",
    "onestop_presettle",
    "onestop_settle",
]

S = ClaimStatus


class OnestopConflict(Exception):
    """The request_id was used before with another body (HTTP 409)."""

    def __init__(self, request_id: str) -> None:
        self.message = f"请求编号 {request_id} 已用于另一笔不同内容的请求"
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {
            "code": str(OnestopCode.REQUEST_ID_REUSED),
            "field": "request_id",
            "detail": self.message,
        }


# --- hospitals and plans (small per-process caches) --------------------------------------------

_HOSPITAL_TTL = 30.0
_hospitals: dict[str, tuple[float, Hospital | None]] = {}
_plans: dict[int, tuple[Plan, int]] = {}  # PlanVersion pk -> (plan, version number)


def hospital_of_key(owner_code: str) -> Hospital | None:
    """The registered, active hospital an API key belongs to, or None. Cached per process for
    30 s. The body's `hospital_code` is checked against it by the parse (`OnestopIn.parse`)."""
    now = time.monotonic()
    cached = _hospitals.get(owner_code)
    if cached is None or now - cached[0] > _HOSPITAL_TTL:
        hospital = Hospital.objects.filter(code=owner_code, is_active=True).first()
        cached = (now, hospital)
        _hospitals[owner_code] = cached
    return cached[1]


@dataclass
class _Year:
    enrollment: Enrollment | None
    scheme_year: SchemeYear | None
    plan: Plan | None
    version: tuple[int, int] | None  # (version number, PlanVersion pk)
    renewal: bool = False
    # The member refused or withdrew consent (huzhu.enrollment.consent): needs a reviewer.
    consent_withheld: bool = False


def _plan_by_pk(pk: int) -> tuple[Plan, tuple[int, int]]:
    """A plan version, parsed once per process (a version row never changes: a changed file
    is a new row, which the lookup finds as the newest of its year)."""
    cached = _plans.get(pk)
    if cached is None:
        version = PlanVersion.objects.get(pk=pk)
        cached = (plan_from_version(version), version.version)
        _plans[pk] = cached
    return cached[0], (cached[1], pk)


def _plan_of(scheme_year_id: int) -> tuple[Plan, tuple[int, int]] | None:
    """The plan in force for a scheme year and (version number, PlanVersion pk)."""
    pk = (
        PlanVersion.objects.filter(scheme_year_id=scheme_year_id)
        .order_by("-version")
        .values_list("pk", flat=True)
        .first()
    )
    return None if pk is None else _plan_by_pk(pk)


def caches_clear() -> None:
    """Forget the cached hospitals, plans and API keys (tests; a hospital deactivated this
    second)."""
    _hospitals.clear()
    _plans.clear()
    api_keys_forget()


_lookup_sql: dict[int, tuple[str, list]] = {}


def _lookup_query(keys: int = 1) -> tuple[str, list]:
    """One round trip for everything a settle reads before it locks: the scheme year of the
    discharge date, the member's enrollment in it (renewal or new), the newest plan version
    of that year, and the stored answer of this request_id. Table and column names come from
    the models. The member is found by the blind index of the ID number under each of the
    `keys` configured field keys (more than one only during a key rotation)."""
    if keys not in _lookup_sql:
        qn = connection.ops.quote_name

        def t(model):
            return qn(model._meta.db_table)

        def c(model, name):
            return qn(model._meta.get_field(name).column)

        E, Y, M, V, R = Enrollment, SchemeYear, Member, PlanVersion, OnestopRequest
        C = MemberConsent
        withheld = ", ".join(f"'{s}'" for s in CONSENT_WITHHELD)
        # The enrollment app's renewal rule, compiled from its query (one rule, domain.md).
        renewal, params = renewal_sql(f"e.{c(E, 'member')}", f"sy.{c(Y, 'year')}")
        sql = f"""
SELECT sy.{c(Y, "id")}, sy.{c(Y, "year")}, sy.{c(Y, "start")}, sy.{c(Y, "end")},
  e.{c(E, "id")}, e.{c(E, "union")}, e.{c(E, "enrolled_on")},
  m.{c(M, "id")}, m.{c(M, "name")}, m.{c(M, "sex")}, m.{c(M, "id_number_masked")},
  {renewal},
  (SELECT pv.{c(V, "id")} FROM {t(V)} pv WHERE pv.{c(V, "scheme_year")} = sy.{c(Y, "id")}
    ORDER BY pv.{c(V, "version")} DESC LIMIT 1),
  (SELECT 1 FROM {t(C)} mc WHERE mc.{c(C, "member")} = m.{c(M, "id")}
    AND mc.{c(C, "status")} IN ({withheld})),
  r.{c(R, "body_sha256")}, r.{c(R, "response")}
FROM (SELECT 1 AS one) x
LEFT JOIN {t(Y)} sy ON sy.{c(Y, "start")} <= %s AND sy.{c(Y, "end")} >= %s
LEFT JOIN {t(M)} m ON m.{c(M, "id_number_hash")} IN ({", ".join(["%s"] * keys)})
LEFT JOIN {t(E)} e ON e.{c(E, "member")} = m.{c(M, "id")}
  AND e.{c(E, "scheme_year")} = sy.{c(Y, "id")} AND e.{c(E, "withdrawn_at")} IS NULL
LEFT JOIN {t(R)} r ON r.{c(R, "hospital_code")} = %s AND r.{c(R, "action")} = %s
  AND r.{c(R, "request_id")} = %s
ORDER BY CASE WHEN e.{c(E, "id")} IS NULL THEN 1 ELSE 0 END, sy.{c(Y, "year")}
LIMIT 1"""
        _lookup_sql[keys] = (sql, params)
    return _lookup_sql[keys]


def _from_db(model, values: dict):
    """A model instance loaded from a row holding only some fields (the others deferred).
    `Model.from_db` takes partial values in the model's field order: sort them so."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[n] for n in names])


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _lookup(
    stay: StayIn, hospital: Hospital, request_id: str = ""
) -> tuple[_Year, tuple[str, dict] | None]:
    """The member-year of the stay and, for a settle, (body digest, answer) stored for this
    request_id. One query; the plan comes from this process's cache."""
    indexes = blind_indexes("id_number", stay.id_number)
    sql, params = _lookup_query(len(indexes))
    params = [*params, stay.discharge, stay.discharge, *indexes]
    params += [hospital.code, OnestopAction.SETTLE, request_id]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    sy_id, sy_year, sy_start, sy_end, e_id, union_id, enrolled_on = row[:7]
    m_id, m_name, m_sex, m_idn, renewal, pv_id, withheld, digest, response = row[7:]
    stored = None
    if digest is not None:
        stored = (digest, json.loads(response) if isinstance(response, str) else response)
    if sy_id is None:
        return _Year(None, None, None, None), stored
    year = _from_db(
        SchemeYear,
        {"id": sy_id, "year": sy_year, "start": _as_date(sy_start), "end": _as_date(sy_end)},
    )
    enrollment = None
    if e_id is not None:
        member = _from_db(
            Member, {"id": m_id, "name": m_name, "sex": m_sex, "id_number_masked": m_idn}
        )
        enrollment = _from_db(
            Enrollment,
            {
                "id": e_id,
                "member_id": m_id,
                "scheme_year_id": sy_id,
                "union_id": union_id,
                "enrolled_on": _as_date(enrolled_on),
            },
        )
        enrollment.member = member
        enrollment.scheme_year = year
    if pv_id is None:
        return _Year(enrollment, year, None, None), stored
    plan, version = _plan_by_pk(pv_id)
    return (
        _Year(enrollment, year, plan, version, bool(renewal), withheld is not None),
        stored,
    )


# --- answers -------------------------------------------------------------------------------------


MESSAGES = {
    OnestopCode.NOT_ENROLLED: "该职工出院日期所在年度未参加医疗互助，本次无互助金",
    OnestopCode.OUT_OF_PERIOD: "出院日期不在任何已加载互助方案的年度内，本次无互助金",
    OnestopCode.ALREADY_CLAIMED: "该次住院已由其他渠道受理互助（免申即享或线上申请），不能在窗口再次结算",
    OnestopCode.CANCELLED: "该结算编号的一站式结算已撤销，不能再次结算；请使用新的结算编号",
}


def _answer(code: str, stay: StayIn | None, hospital: Hospital, **extra) -> dict:
    out = {
        "code": str(code),
        "status": extra.pop("status", str(code)),
        "message": extra.pop("message", MESSAGES.get(code, "")),
        "hospital_code": hospital.code,
        "settlement_id": stay.settlement_id if stay else extra.pop("settlement_id", ""),
        "amount": "0.00",
        "amount_fen": 0,
        "items": [],
        "duplicate": False,
    }
    out.update(extra)
    return out


@dataclass
class _Computed:
    """The engine's result for one stay: the claims to write and the ledger after them."""

    items: list[tuple[str, str, ClaimAmount]] = field(default_factory=list)  # (code, name, amt)
    state: LedgerState | None = None
    lump_codes: list[str] = field(default_factory=list)


def _claim_amount(plan: Plan, version, b) -> ClaimAmount:
    return stay_amount(plan, version, b)


def _compute(
    y: _Year,
    stay: StayIn,
    base_fen: int,
    ledger: MemberYearLedger | None,
    nearby: list[Claim],
    *,
    hospital: Hospital,
    write: bool,
) -> _Computed:
    """Price the stay against the member-year. With `write` (under the member-year lock, the
    settle), later claims the insertion moves are re-priced or given adjustment items."""
    plan, version = y.plan, y.version
    inpatient = plan.inpatient
    member = y.enrollment.member
    out = _Computed()
    key = stay.settlement_id
    later = [
        c
        for c in nearby
        if c.benefit_code == inpatient.code
        and c.status in COMPUTED_STATUSES
        and c.amount_fen is not None
        and c.discharge_date is not None
        and (c.discharge_date, c.settlement_id or c.number) > (stay.discharge, key)
    ]
    held = dict(ledger.lump_sums or {}) if ledger is not None else {}
    # Later stays that are all fixed (settled at a cashier, paid, overridden) cannot move: the
    # stay is priced against the ledger as it stands, so concurrent cashiers on one member
    # (same discharge day) share the deductible and cap exactly, in commit order.
    if all(claim_is_settled(c) for c in later):
        state = ledger_state(ledger) if ledger is not None else LedgerState()
        mine, state = adjudicate_stay(inpatient, key, base_fen, state)
    else:
        # A later stay is unfixed: walk the whole year again with this one inserted (under
        # the lock, the later claims are re-priced or given adjustment items right away).
        pair = (member.pk, y.scheme_year.pk)
        walk = YearWalk(
            member_id=member.pk,
            scheme_year_id=y.scheme_year.pk,
            plan=plan,
            version=version,
            claims=year_claims_locked([pair], statuses=COMPUTED_STATUSES, lock=write)[pair],
            reason=(
                f"一站式结算{stay.settlement_id}（{hospital.name}，出院{stay.discharge:%Y-%m-%d}）"
                "按出院顺序计入本年度，重新计算"
            ),
            new_stays=[CoveredStay(key, stay.discharge, base_fen, stay.diagnosis_code)],
            sex=member.sex,
        )
        done = member_year_reprice(walk, write=write)
        mine = done.new[key]
        state = done.result.state
    out.items.append((inpatient.code, inpatient.name, _claim_amount(plan, version, mine)))
    for lump in plan.lump_sums:
        if lump.code in held or not lump.matches(stay.diagnosis_code, member.sex):
            continue
        if lump.once_per == "lifetime" and (
            Claim.objects.filter(
                member_id=member.pk, benefit_code=lump.code, status__in=LIVE_STATUSES
            )
            .exclude(scheme_year_id=y.scheme_year.pk)
            .exists()
        ):
            continue
        out.lump_codes.append(lump.code)
        out.items.append(
            (
                lump.code,
                lump.name,
                ClaimAmount(
                    amount_fen=lump.lump_sum_fen,
                    breakdown=texts.lump_breakdown_dict(
                        plan, version[0], lump, stay.diagnosis_code
                    ),
                    explanation=texts.lump_explanation_text(plan, lump),
                    plan_version_number=version[0],
                    plan_version_id=version[1],
                ),
            )
        )
    out.state = state
    return out


def _left(plan: Plan, state: LedgerState) -> dict:
    inpatient = plan.inpatient
    deductible = (
        inpatient.deductible_fen
        if inpatient.deductible_per_stay
        else max(0, inpatient.deductible_fen - state.deductible_used_fen)
    )
    out = {"deductible_left": fen_to_yuan(deductible), "cap_left": None}
    if inpatient.cap_fen is not None:
        out["cap_left"] = fen_to_yuan(max(0, inpatient.cap_fen - state.paid_fen))
    return out


def _priced(code, stay, hospital, y: _Year, computed: _Computed, numbers=None) -> dict:
    total = sum(a.amount_fen for _c, _n, a in computed.items)
    items = []
    for i, (bcode, bname, a) in enumerate(computed.items):
        item = {
            "benefit": bcode,
            "name": bname,
            "amount": fen_to_yuan(a.amount_fen),
            "amount_fen": a.amount_fen,
            "explanation": a.explanation,
            "breakdown": a.breakdown,
        }
        if numbers is not None:
            item["claim_number"] = numbers[i]
        items.append(item)
    member = y.enrollment.member
    return _answer(
        code,
        stay,
        hospital,
        status="covered",
        message=f"本次医疗互助金{fen_to_yuan(total)}元，由医院在结算时直接减免",
        amount=fen_to_yuan(total),
        amount_fen=total,
        items=items,
        member={"name": member.name, "id_number": member.id_number_masked},
        scheme_year=y.scheme_year.year,
        plan_version=y.version[0],
        year_after=_left(y.plan, computed.state),
    )


def _outcome_without_claim(stay: StayIn, hospital: Hospital, y: _Year) -> dict | None:
    """The answer when the stay is not covered (nothing to write), else None."""
    if y.plan is None or not (y.plan.period.start <= stay.discharge <= y.plan.period.end):
        return _answer(OnestopCode.OUT_OF_PERIOD, stay, hospital)
    if y.enrollment is None:
        return _answer(OnestopCode.NOT_ENROLLED, stay, hospital)
    coverage = Coverage(enrolled_on=y.enrollment.enrolled_on, renewal=y.renewal)
    if not coverage.covers_admission(y.plan, stay.admit):
        start = coverage.start(y.plan)
        return _answer(
            OnestopCode.WAITING_PERIOD,
            stay,
            hospital,
            message=(
                f"新参保人员观察期内入院：保障自{start:%Y-%m-%d}起，入院日期"
                f"{stay.admit:%Y-%m-%d}在观察期内，本次无互助金"
            ),
            coverage_start=start.isoformat(),
        )
    return None


def _doubts(stay: StayIn, y: _Year) -> list[str]:
    """Why the bureau file import would send this stay to a reviewer (the import's rule,
    `huzhu.settlements.frames.review_reasons`), [] when it would not."""
    return review_reasons(
        amounts=stay.amounts,
        base=y.plan.inpatient.base,
        admit=stay.admit,
        discharge=stay.discharge,
        name=stay.name.strip(SPACES),
        member_name=y.enrollment.member.name,
        consent_withheld=y.consent_withheld,
    )


def _needs_review(stay: StayIn, hospital: Hospital, reasons: list[str]) -> dict:
    return _answer(
        OnestopCode.NEEDS_REVIEW,
        stay,
        hospital,
        status="needs_review",
        message=(
            f"该次住院需人工审核（{'；'.join(reasons)}），不能在窗口直接减免互助金；"
            "请按普通结算收费，医保数据到达后由审核人员处理"
        ),
        reasons=reasons,
    )


def _base(y: _Year, stay: StayIn) -> int:
    base_name = y.plan.inpatient.base
    base = stay.amounts.get(base_name)
    if base is None:
        raise OnestopInputError(
            base_name, f"缺少{LABELS.get(base_name, base_name)}（{base_name}），无法计算互助金"
        )
    return base


_NEARBY_FIELDS = (
    "id",
    "number",
    "member_id",
    "settlement_id",
    "source",
    "hospital_code",
    "benefit_code",
    "status",
    "amount_fen",
    "admit_date",
    "discharge_date",
    "is_fixed",
)
_nearby_sql: dict[bool, str] = {}
_nearby_converters: list = []


def _nearby(stay: StayIn, y: _Year, *, reserve: bool = False):
    """Claims that matter for this stay: any with its settlement id, and the member-year's
    claims discharged on or after its admission (same stay filed manually; later stays).
    Rows become deferred Claim instances, as `.only()` would give; the statement is built
    once per process from the model's fields.

    With `reserve` (the settle, under the ledger lock) returns (claims, (claim id, claim
    number) for the stay's claim): on PostgreSQL both come from their sequences in the same
    statement (numbers may have gaps: an answer that writes no claim burns them)."""
    conn = connections[connection.alias]
    opts = Claim._meta
    pg_reserve = reserve and conn.vendor == "postgresql"
    sql = _nearby_sql.get(pg_reserve)
    if sql is None:
        qn = conn.ops.quote_name

        def c(name):
            return "c." + qn(opts.get_field(name).column)

        cols = [opts.get_field(n).get_col(opts.db_table) for n in _NEARBY_FIELDS]
        where = (
            f"{c('settlement_id')} = %s OR ({c('member')} = %s "
            f"AND {c('scheme_year')} = %s AND {c('discharge_date')} >= %s)"
        )
        selected = ", ".join(c(n) for n in _NEARBY_FIELDS)
        if pg_reserve:
            id_seq, number_seq = claim_sequences()
            sql = (
                f"WITH n AS MATERIALIZED (SELECT nextval('{id_seq}'::regclass) AS cid, "
                f"nextval('{number_seq}'::regclass) AS num) "
                f"SELECT n.cid, n.num, {selected} FROM n "
                f"LEFT JOIN {qn(opts.db_table)} c ON ({where})"
            )
        else:
            sql = f"SELECT NULL, NULL, {selected} FROM {qn(opts.db_table)} c WHERE {where}"
        _nearby_sql[pg_reserve] = sql
        _nearby_converters[:] = [
            (col, [*conn.ops.get_db_converters(col), *col.get_db_converters(conn)]) for col in cols
        ]
    params = [stay.settlement_id, y.enrollment.member_id, y.scheme_year.pk, stay.admit]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        if row[2] is None:  # the reserved ids with no claim beside them
            continue
        values = {}
        for value, (col, convs) in zip(row[2:], _nearby_converters, strict=True):
            for conv in convs:
                value = conv(value, col, conn)
            values[col.target.attname] = value
        out.append(_from_db(Claim, values))
    if not reserve:
        return out
    if pg_reserve:
        first = (rows[0][0], format_claim_number(y.scheme_year.year, rows[0][1]))
    else:
        first = _reserve_claims(y.scheme_year.year, 1)[0]
    return out, first


def _earlier(stay: StayIn, hospital: Hospital, nearby: list[Claim]) -> dict | None:
    """The answer when this settlement id (or this stay) already has a claim, else None."""
    mine = [c for c in nearby if c.settlement_id == stay.settlement_id]
    if mine:
        ours = all(
            c.source == ClaimSource.ONESTOP and c.hospital_code == hospital.code for c in mine
        )
        if not ours:
            return _answer(OnestopCode.ALREADY_CLAIMED, stay, hospital, status="duplicate")
        if all(c.status == S.VOID for c in mine):
            return _answer(OnestopCode.CANCELLED, stay, hospital, status="reversed")
        earlier = (
            OnestopRequest.objects.filter(
                hospital_code=hospital.code,
                action=OnestopAction.SETTLE,
                settlement_id=stay.settlement_id,
                code=OnestopCode.OK,
            )
            .order_by("id")
            .values_list("response", flat=True)
            .first()
        )
        if earlier is None:  # settled, but its answer is not stored: rebuild it from the claims
            total = sum(c.amount_fen or 0 for c in mine)
            earlier = _answer(
                OnestopCode.OK,
                stay,
                hospital,
                status="covered",
                amount=fen_to_yuan(total),
                amount_fen=total,
                items=[
                    {
                        "benefit": c.benefit_code,
                        "amount": fen_to_yuan(c.amount_fen or 0),
                        "amount_fen": c.amount_fen or 0,
                        "claim_number": c.number,
                    }
                    for c in mine
                ],
            )
        return {**earlier, "duplicate": True}
    same_stay = [
        c
        for c in nearby
        if not c.settlement_id
        and c.status in LIVE_STATUSES
        and c.admit_date == stay.admit
        and c.discharge_date == stay.discharge
    ]
    if same_stay:
        return _answer(OnestopCode.ALREADY_CLAIMED, stay, hospital, status="duplicate")
    return None


# --- the services ----------------------------------------------------------------------------------


def onestop_presettle(*, hospital: Hospital, stay: StayIn) -> dict:
    """What settling this stay now would deduct, with its breakdown. Writes nothing."""
    y, _stored_answer = _lookup(stay, hospital)
    refused = _outcome_without_claim(stay, hospital, y)
    if refused is not None:
        return refused
    base = _base(y, stay)
    nearby = _nearby(stay, y)
    earlier = _earlier(stay, hospital, nearby)
    if earlier is not None:
        return earlier
    doubts = _doubts(stay, y)
    if doubts:
        return _needs_review(stay, hospital, doubts)
    ledger = MemberYearLedger.objects.filter(
        member_id=y.enrollment.member_id, scheme_year_id=y.scheme_year.pk
    ).first()
    computed = _compute(y, stay, base, ledger, nearby, hospital=hospital, write=False)
    return _priced(OnestopCode.OK, stay, hospital, y, computed)


def _stored(hospital: Hospital, action: str, request_id: str, digest: str) -> dict | None:
    seen = (
        OnestopRequest.objects.filter(
            hospital_code=hospital.code, action=action, request_id=request_id
        )
        .values_list("body_sha256", "response")
        .first()
    )
    if seen is None:
        return None
    if seen[0] != digest:
        raise OnestopConflict(request_id)
    return seen[1]


def _remember(hospital, action, request_id, digest, stay_sid: str, answer: dict) -> None:
    OnestopRequest.objects.create(
        hospital_code=hospital.code,
        action=action,
        request_id=request_id,
        body_sha256=digest,
        settlement_id=stay_sid,
        code=answer["code"],
        response=answer,
    )


def _once(hospital, action: str, request_id: str, digest: str, work) -> dict:
    """Run `work()` (which stores its answer in its own transaction) once per request_id
    (cancel; the settle path folds the lookup into its first query)."""
    stored = _stored(hospital, action, request_id, digest)
    if stored is not None:
        return stored
    try:
        return work()
    except IntegrityError:
        # The same request_id arrived twice at once: the one that committed answers both.
        stored = _stored(hospital, action, request_id, digest)
        if stored is None:
            raise
        return stored


def onestop_settle(*, hospital: Hospital, stay: SettleIn) -> dict:
    """Settle a stay at the cashier: commit the fixed, hospital-payee claim(s) and answer the
    amount. Idempotent per (hospital, request_id); see the module docstring.

    Round trips on PostgreSQL, usual case (guarded by `test_settle_path_stays_lean`): the
    lookup (`_lookup`), then in one transaction the ledger lock (`ledger_lock`), the stay's
    neighbouring claims with the new claim's id and number (`_nearby`), the claim, one
    statement writing the transition, notification, ledger and request rows
    (`write_settlement`), the commit; after it the notification is delivered (one UPDATE)."""
    request_id = stay.request_id
    digest = stay.digest()
    for attempt in range(2):
        y, stored = _lookup(stay, hospital, request_id)
        if stored is not None:
            if stored[0] != digest:
                raise OnestopConflict(request_id)
            return stored[1]
        try:
            with transaction.atomic():
                answer = _outcome_without_claim(stay, hospital, y)
                if answer is None:
                    _base(y, stay)
                    doubts = _doubts(stay, y)
                    if doubts:  # rare: nothing is written, so no lock is taken
                        earlier = _earlier(stay, hospital, _nearby(stay, y))
                        return earlier or _needs_review(stay, hospital, doubts)
                    return _settle_locked(hospital, stay, y, request_id, digest)
                _remember(
                    hospital, OnestopAction.SETTLE, request_id, digest, stay.settlement_id, answer
                )
                return answer
        except IntegrityError:
            # The same request_id committed by a concurrent request (its answer is stored
            # now), or the same settlement id settled for another member-year at the same
            # moment (the claims of the next attempt show it): look again, once.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _settle_locked(
    hospital: Hospital, stay: SettleIn, y: _Year, request_id: str, digest: str
) -> dict:
    """Under the member-year lock: price the stay, write its claim(s), the ledger and the
    request row, and answer."""
    base = _base(y, stay)
    member = y.enrollment.member
    ledger = ledger_lock(member_id=member.pk, scheme_year_id=y.scheme_year.pk)
    nearby, first = _nearby(stay, y, reserve=True)
    earlier = _earlier(stay, hospital, nearby)
    if earlier is not None:
        _remember(hospital, OnestopAction.SETTLE, request_id, digest, stay.settlement_id, earlier)
        return earlier
    computed = _compute(y, stay, base, ledger, nearby, hospital=hospital, write=True)
    fields = stay.claim_fields(hospital.code)
    if not fields.get("hospital_name"):
        fields["hospital_name"] = hospital.name
    rows = []
    lump_sums = dict(ledger.lump_sums or {})
    reserved = [first]
    if len(computed.items) > 1:  # lump sums beside the inpatient benefit
        reserved += _reserve_claims(y.scheme_year.year, len(computed.items) - 1)
    for (code, name, amount), (claim_id, number) in zip(computed.items, reserved, strict=True):
        rows.append(
            claim_rows_onestop(
                member=member,
                scheme_year=y.scheme_year,
                enrollment=y.enrollment,
                benefit_code=code,
                benefit_name=name,
                stay=fields,
                amount=amount,
                number=number,
                claim_id=claim_id,
            )
        )
        if code in computed.lump_codes:
            lump_sums[code] = number
    state = computed.state
    ledger_apply(
        ledger,
        LedgerTotals(
            deductible_used_fen=state.deductible_used_fen,
            cumulative_excess_fen=state.cumulative_excess_fen,
            paid_toward_cap_fen=state.paid_fen,
            lump_sums=lump_sums,
        ),
    )
    answer = _priced(OnestopCode.OK, stay, hospital, y, computed, [n for _i, n in reserved])
    request = OnestopRequest(
        hospital_code=hospital.code,
        action=OnestopAction.SETTLE,
        request_id=request_id,
        body_sha256=digest,
        settlement_id=stay.settlement_id,
        code=answer["code"],
        response=answer,
    )
    write_settlement(rows, ledger, request)
    deliver_after_commit([r.notification for r in rows if r.notification is not None])
    return answer


def onestop_cancel(*, hospital: Hospital, cancel: CancelIn) -> dict:
    """Cancel a one-stop settlement (a refund at the cashier) with a reversal's effect.
    Idempotent per (hospital, request_id)."""
    request_id, sid = cancel.request_id, cancel.settlement_id
    reason = cancel.reason or "医院窗口撤销一站式结算（退费）"
    digest = cancel.digest()

    def work() -> dict:
        with transaction.atomic():
            answer = _cancel_locked(hospital, sid, reason)
            _remember(hospital, OnestopAction.CANCEL, request_id, digest, sid, answer)
        return answer

    return _once(hospital, OnestopAction.CANCEL, request_id, digest, work)


def _cancel_locked(hospital: Hospital, sid: str, reason: str) -> dict:
    found = list(
        Claim.objects.filter(
            settlement_id=sid, source=ClaimSource.ONESTOP, hospital_code=hospital.code
        ).values_list("member_id", "scheme_year_id")
    )
    if not found:
        return _answer(
            OnestopCode.NOT_FOUND,
            None,
            hospital,
            settlement_id=sid,
            message=f"本院没有结算编号为{sid}的一站式结算",
        )
    member_id, year_id = found[0]
    ledger = ledger_lock(member_id=member_id, scheme_year_id=year_id)
    claims = list(
        Claim.objects.select_for_update(of=("self",))
        .filter(settlement_id=sid, source=ClaimSource.ONESTOP, hospital_code=hospital.code)
        .prefetch_related("adjustments")
        .order_by("id")
    )
    if all(c.status == S.VOID for c in claims):
        return _answer(
            OnestopCode.ALREADY_CANCELLED,
            None,
            hospital,
            settlement_id=sid,
            message=f"结算编号{sid}的一站式结算已撤销",
            cancelled=[c.number for c in claims],
        )
    why = f"医院{hospital.name}撤销一站式结算{sid}：{reason}"
    recovery = 0
    cancelled = []
    for c in claims:
        if c.status == S.PAID:
            worth = claim_effective_fen(c)
            if worth > 0:
                adjustment_create(
                    claim=c, kind=AdjustmentKind.RECOVERY, amount_fen=worth, reason=why
                )
                recovery += worth
        elif c.status != S.VOID:
            claim_void(claim=c, reason=why)
        cancelled.append(
            {
                "claim_number": c.number,
                "benefit": c.benefit_code,
                "amount": fen_to_yuan(c.amount_fen or 0),
            }
        )
    changed = _recompute_year(ledger, claims, why)
    return _answer(
        OnestopCode.OK,
        None,
        hospital,
        settlement_id=sid,
        status="reversed",
        message=f"结算编号{sid}的一站式结算已撤销"
        + (f"；该笔已支付给医院，{fen_to_yuan(recovery)}元将在下次拨付时扣回" if recovery else ""),
        amount=fen_to_yuan(sum(c.amount_fen or 0 for c in claims)),
        amount_fen=sum(c.amount_fen or 0 for c in claims),
        cancelled=cancelled,
        recovery=fen_to_yuan(recovery),
        recomputed=changed,
    )


def _recompute_year(ledger: MemberYearLedger, cancelled: list[Claim], why: str) -> list[str]:
    """Walk the member-year again without the cancelled stay; returns the numbers of the
    claims whose amount changed (re-priced, or given an adjustment item when fixed)."""
    found = _plan_of(ledger.scheme_year_id)
    gone = {c.pk for c in cancelled}
    lump_sums = {
        code: number
        for code, number in (ledger.lump_sums or {}).items()
        if number not in {c.number for c in cancelled}
    }
    if found is None:
        return []
    plan, version = found
    pair = (ledger.member_id, ledger.scheme_year_id)
    # Lump sums are held (the default): a cancellation never moves one to another stay here.
    done = member_year_reprice(
        YearWalk(
            member_id=ledger.member_id,
            scheme_year_id=ledger.scheme_year_id,
            plan=plan,
            version=version,
            claims=year_claims_locked([pair], statuses=COMPUTED_STATUSES)[pair],
            reason=why,
            exclude=frozenset(gone),
        )
    )
    ledger_write(ledger, done.totals(lump_sums))
    return [c.number for c, _old, _new in done.changed]
