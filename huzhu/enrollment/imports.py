"""Enrolling a union's members for a scheme year from the sheet it already keeps.

The whole file is read and checked before anything is written. Policy: all-or-nothing by
default (any problem refuses the file), or `valid_only` (write the valid rows, report the
rest). The natural key (member ID number × scheme year) makes a second run of the same file
change nothing: its rows come back as `already_enrolled`.

Members are matched by ID number, through its blind index (ID numbers and phones are stored
encrypted; huzhu.core.crypto). A new ID creates the member; an existing one must carry
the same name (a different name is an error: the registry is corrected on the member page,
not by a sheet). Phone, bank name and bank account from the file replace the stored ones
when they are given and differ, and the member's current union becomes this union — but
only when this scheme year is the member's latest, so loading an older year's records never
overwrites newer details. Blank cells never erase stored values.

Speed (benchmarks/enrollment_import.py, benchmarks/RESULTS.md): the file is read once by
python-calamine, rows are checked by cheap fast paths (ID check digits vectorised), existing
members and enrollments come in two queries, the cyclic GC is paused, and new rows go in
through COPY (PostgreSQL, streamed while accounts are encrypted) / executemany (SQLite).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from huzhu.core.bulk import as_db_text, bulk_insert, bulk_update_rows, gc_paused, values_in
from huzhu.core.crypto import (
    blind_index_many,
    decrypt_text_many,
    encrypt_text,
    encrypt_text_many,
    field_keys,
)
from huzhu.core.masking import mask_phone
from huzhu.core.tabular import RowProblem, read_table
from huzhu.members.fields import FieldError, normalize_name
from huzhu.members.models import Member
from huzhu.organizations.models import Union
from huzhu.organizations.selectors import union_visible_ids

from .models import Enrollment, EnrollmentImport, SchemeYear
from .rowchecks import (
    ALIASES,
    COLUMN_LABELS,
    REQUIRED,
    STATUS_ALREADY,
    STATUS_ERROR,
    STATUS_NEW,
    STATUS_RENEWAL,
    Row,
    check_rows,
    problem,
)
from .selectors import renewal_member_ids
from .signals import enrollments_imported

__all__ = [
    "ALIASES",
    "COLUMN_LABELS",
    "EnrollmentImportResult",
    "ImportPreviewRow",
    "RowProblem",
    "enrollment_import",
]


@dataclass(frozen=True)
class ImportPreviewRow:
    row: int
    name: str
    id_number_masked: str
    phone: str
    enrolled_on: date | None
    status: str  # "new" | "renewal" | "already_enrolled" | "error"
    problems: list[RowProblem]


@dataclass(frozen=True)
class EnrollmentImportResult:
    # {"rows", "enrolled", "renewals", "already_enrolled", "errors", "not_consented"}
    summary: dict
    problems: list[RowProblem]
    preview: list[ImportPreviewRow]
    written: bool  # False for dry runs and refused all-or-nothing runs
    encoding: str | None
    batch_id: int | None  # the EnrollmentImport row when written
    header_row: int = 1


# Columns fetched for members already in the registry (tuple positions below).
_MEMBER_COLUMNS = (
    "id",
    "id_number_hash",
    "name",
    "phone_hash",
    "bank_name",
    "bank_account_last4",
    "bank_account_encrypted",
    "union_id",
    "phone_encrypted",
    "phone_masked",
)
_M_ID, _M_IDNO, _M_NAME, _M_PHONE, _M_BANK, _M_LAST4, _M_ENC, _M_UNION = range(8)
_M_PHONE_ENC, _M_PHONE_MASKED = 8, 9


def _existing(rows: list[Row], year: int):
    """Registry members of the file's IDs, their active enrollments from `year` on, and
    which of those not enrolled in `year` yet would renew (`renewal_member_ids`, the rule
    every reader uses).

    At most three queries whatever the file's size (one parameter holds every ID).
    """
    ids = [r.id_number for r in rows if r.id_number is not None]
    members: dict[str, tuple] = {}
    enrollments: dict[int, dict[int, tuple]] = {}  # member id -> {year: (union id, name, date)}
    renewals: set[int] = set()
    if not ids:
        return members, enrollments, renewals
    member_table = Member._meta.db_table
    # By blind index: under every configured key while a key rotation is under way.
    number_of: dict[str, str] = {}
    for key in field_keys():
        number_of.update(zip(blind_index_many("id_number", ids, field_key=key), ids, strict=True))
    where, params = values_in("m.id_number_hash", list(number_of))
    columns = ", ".join(f"m.{c}" for c in _MEMBER_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {member_table} m WHERE {where}", params)
        for values in cursor.fetchall():
            members[number_of[values[_M_IDNO]]] = values
        if not members:
            return members, enrollments, renewals
        where, params = values_in("e.member_id", [m[_M_ID] for m in members.values()])
        cursor.execute(
            f"SELECT e.member_id, y.year, e.union_id, u.name, e.enrolled_on "
            f"FROM {Enrollment._meta.db_table} e "
            f"JOIN {SchemeYear._meta.db_table} y ON y.id = e.scheme_year_id "
            f"JOIN {Union._meta.db_table} u ON u.id = e.union_id "
            f"WHERE {where} AND e.withdrawn_at IS NULL AND y.year >= %s",
            [*params, year],
        )
        to_date = date.fromisoformat
        for member_id, y, union_id, union_name, enrolled_on in cursor.fetchall():
            if isinstance(enrolled_on, str):  # SQLite hands raw SQL dates back as text
                enrolled_on = to_date(enrolled_on)
            enrollments.setdefault(member_id, {})[y] = (union_id, union_name, enrolled_on)
    joining = [m[_M_ID] for m in members.values() if year not in enrollments.get(m[_M_ID], {})]
    renewals = renewal_member_ids(joining, year)
    return members, enrollments, renewals


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)


def _classify(rows: list[Row], members, enrollments, renewals, *, union, scheme_year) -> None:
    year = scheme_year.year
    for r in rows:
        if r.id_number is None:
            continue
        m = members.get(r.id_number)
        if m is not None:
            r.member = m
            stored_name = m[_M_NAME]
            if stored_name != r.name and _safe_name(stored_name) != r.name:
                r.problems.append(
                    problem(
                        r.row,
                        "name",
                        "name_mismatch",
                        f"姓名与系统中该身份证号登记的姓名（{_mask_name(stored_name)}）不一致；"
                        "如系统中的姓名有误，请在职工详情页更正后再导入",
                    )
                )
            years = enrollments.get(m[_M_ID], {})
            current = years.get(year)
            if current is not None:
                if current[0] != union.id:
                    r.problems.append(
                        problem(
                            r.row,
                            "id_number",
                            "enrolled_elsewhere",
                            f"该职工本年度已通过其他工会（{current[1]}）参保，"
                            "一人一年只能通过一个工会参保",
                        )
                    )
                elif not r.problems:
                    r.status = STATUS_ALREADY
                    r.enrolled_on = current[2]
                continue
            if not r.problems:
                r.status = STATUS_RENEWAL if m[_M_ID] in renewals else STATUS_NEW
        elif not r.problems:
            r.status = STATUS_NEW
    for r in rows:
        if r.status == STATUS_NEW:
            _check_cover_in_year(r, scheme_year)
        if r.problems:
            r.status = STATUS_ERROR


def _check_cover_in_year(r: Row, scheme_year) -> None:
    """A new enrollment whose waiting period ends after the scheme year would be charged a
    fee for no cover at all: refuse it and point at the next year."""
    start = r.enrolled_on + timedelta(days=scheme_year.waiting_period_days)
    if start > scheme_year.end:
        r.problems.append(
            problem(
                r.row,
                "enrolled_on",
                "no_cover_in_year",
                f"新参保职工{r.enrolled_on:%Y-%m-%d}参保，观察期"
                f"{scheme_year.waiting_period_days}天，保障要到{start:%Y-%m-%d}才开始，"
                f"晚于{scheme_year.year}年度的结束日期{scheme_year.end:%Y-%m-%d}，"
                f"本年度没有保障期却要交会费；请改为参保{scheme_year.year + 1}年度",
            )
        )


def _safe_name(name: str) -> str:
    try:
        return normalize_name(name)
    except FieldError:
        return name


def enrollment_import(
    *,
    data: bytes,
    file_name: str,
    union,
    scheme_year,
    valid_only: bool = False,
    enrolled_on: date | None = None,
    dry_run: bool = False,
    acting_user=None,
    today: date | None = None,
    consent_attested: bool = True,
) -> EnrollmentImportResult:
    """Check a sheet of members and enroll them in `scheme_year` through `union`.

    Raises `huzhu.core.tabular.TabularError` for a file that cannot be read (no header,
    missing 姓名/身份证号 columns), and PermissionDenied when `acting_user` may not act for
    `union`. Otherwise returns the result: `written` is False for a dry run and for a
    refused all-or-nothing run. The summary of a dry run is the one the same call would
    report for real (so a preview can say "will enroll N").
    Enrollment date: the row's 参保日期, else `enrolled_on`, else `today`.
    Consent (huzhu.enrollment.consent): with `consent_attested` (the upload page's checked
    box; the command's default) the run records that `acting_user` attested every member of
    the file signed the current consent text, except rows whose optional 同意书 cell says 否:
    those are recorded as refusals (their bureau records go to a reviewer, never paid
    automatically); the summary's `not_consented` counts them.
    """
    if acting_user is not None:
        visible = union_visible_ids(acting_user)
        if visible is not None and union.id not in visible:
            raise PermissionDenied("not your union")
    with gc_paused():
        return _import(
            data,
            file_name,
            union,
            scheme_year,
            valid_only,
            enrolled_on,
            dry_run,
            acting_user,
            today,
            consent_attested,
        )


def _import(
    data,
    file_name,
    union,
    scheme_year,
    valid_only,
    enrolled_on,
    dry_run,
    acting_user,
    today,
    consent_attested,
):
    today = today or timezone.localdate()
    sheet = read_table(data, file_name, aliases=ALIASES, required=REQUIRED)
    rows = check_rows(
        sheet, default_date=enrolled_on or today, scheme_year=scheme_year, today=today
    )
    args = (rows, sheet, data, union, scheme_year, valid_only)
    if dry_run:
        return _run(*args, False, acting_user, consent_attested)
    with transaction.atomic():
        _lock_imports()
        result = _run(*args, True, acting_user, consent_attested)
        if result.written and result.summary["enrolled"]:
            # Once committed, the apps above may act on the new enrollments (settlement
            # records refused as not enrolled are adjudicated again).
            transaction.on_commit(
                lambda: enrollments_imported.send(
                    sender=type(scheme_year), scheme_year=scheme_year, batch_id=result.batch_id
                ),
                robust=True,
            )
        return result


def _lock_imports() -> None:
    """Serialise enrollment imports (SQLite already did at BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('huzhu.enrollment_import'))")


def _run(rows, sheet, data, union, scheme_year, valid_only, write, acting_user, attested):
    year = scheme_year.year
    members, enrollments, renewals = _existing(rows, year)
    _classify(rows, members, enrollments, renewals, union=union, scheme_year=scheme_year)

    counts = {STATUS_NEW: 0, STATUS_RENEWAL: 0, STATUS_ALREADY: 0, STATUS_ERROR: 0}
    for r in rows:
        counts[r.status] += 1
    refused = counts[STATUS_ERROR] > 0 and not valid_only
    enrolled = 0 if refused else counts[STATUS_NEW] + counts[STATUS_RENEWAL]
    summary = {
        "rows": len(rows),
        "enrolled": enrolled,
        "renewals": 0 if refused else counts[STATUS_RENEWAL],
        "already_enrolled": counts[STATUS_ALREADY],
        "errors": counts[STATUS_ERROR],
        # Rows written (or already enrolled) whose 同意书 says 否: kept for review, never
        # paid automatically.
        "not_consented": 0
        if refused
        else sum(1 for r in rows if r.consent is False and r.status != STATUS_ERROR),
    }
    problems = [p for r in rows for p in r.problems]
    # Phones are shown masked, as on every staff list; a refused one as typed, to be fixed.
    phone_refused = {p.row for p in problems if p.column == COLUMN_LABELS["phone"]}
    preview = [
        ImportPreviewRow(
            row=r.row,
            name=r.name,
            id_number_masked=r.id_shown,
            phone=r.phone if r.row in phone_refused else mask_phone(r.phone),
            enrolled_on=r.enrolled_on,
            status=r.status,
            problems=r.problems,
        )
        for r in rows
    ]
    batch_id = None
    written = write and not refused
    if written:
        batch_id = _write(
            rows,
            enrollments,
            union=union,
            scheme_year=scheme_year,
            file_name=sheet.file_name,
            data=data,
            valid_only=valid_only,
            summary=summary,
            acting_user=acting_user,
            attested=attested,
        )
    return EnrollmentImportResult(
        summary=summary,
        problems=problems,
        preview=preview,
        written=written,
        encoding=sheet.encoding,
        batch_id=batch_id,
        header_row=sheet.header_row,
    )


_birth_dates: dict[str, str] = {}


def _birth_date(yyyymmdd: str) -> str:
    """The birth date in an ID number (already validated) as ISO text, memoised: many
    people share one."""
    born = _birth_dates[yyyymmdd] = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    return born


_ENCRYPT_CHUNK = 5000


def _new_member_rows(rows: list[Row], union_id: int, now: str):
    """Member rows for COPY, produced as it streams: ID numbers, phones and bank accounts are
    encrypted (and indexed) a chunk at a time, so on PostgreSQL the encrypting overlaps with
    the server's inserting. Dates are text (`as_db_text`)."""
    birth_dates = _birth_dates
    for start in range(0, len(rows), _ENCRYPT_CHUNK):
        chunk = rows[start : start + _ENCRYPT_CHUNK]
        encrypted = iter(encrypt_text_many([r.bank_account for r in chunk if r.bank_account]))
        numbers = [r.id_number for r in chunk]
        id_tokens = encrypt_text_many(numbers)
        id_hashes = blind_index_many("id_number", numbers)
        phones = [r.phone for r in chunk if r.phone]
        phone_tokens = iter(encrypt_text_many(phones))
        phone_hashes = iter(blind_index_many("phone", phones))
        for r, id_token, id_hash in zip(chunk, id_tokens, id_hashes, strict=True):
            number = r.id_number
            account = r.bank_account
            phone = r.phone
            yield (
                id_token,
                id_hash,
                r.id_shown,
                r.name,
                next(phone_tokens) if phone else "",
                next(phone_hashes) if phone else "",
                phone[:3] + "****" + phone[7:] if len(phone) == 11 else mask_phone(phone),
                "male" if number[16] in "13579" else "female",
                birth_dates.get(number[6:14]) or _birth_date(number[6:14]),
                r.bank_name,
                next(encrypted) if account else "",
                account[-4:],
                union_id,
                None,
                now,
                now,
            )


def _write(
    rows,
    enrollments,
    *,
    union,
    scheme_year,
    file_name,
    data,
    valid_only,
    summary,
    acting_user,
    attested,
) -> int:
    from huzhu.audit.services import audit_record

    from .consent import consent_enrollment_record

    now = timezone.now()
    now_text = as_db_text(now)
    year = scheme_year.year
    # Rows that were not enrolled by this run and why (the enrolled ones point at the batch).
    report = [
        {
            "row": r.row,
            "status": r.status,
            "problems": [
                {"column": p.column, "code": p.code, "message": p.message} for p in r.problems
            ],
        }
        for r in rows
        if r.status == STATUS_ERROR
    ]
    batch = EnrollmentImport.objects.create(
        union=union,
        scheme_year=scheme_year,
        file_name=file_name[:255],
        checksum=hashlib.sha256(data).hexdigest(),
        policy="valid_only" if valid_only else "all_or_nothing",
        created_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        summary=summary,
        report=report,
    )

    new_rows: list[Row] = []
    existing: list[Row] = []
    for r in rows:
        if r.status not in (STATUS_NEW, STATUS_RENEWAL, STATUS_ALREADY):
            continue
        m = r.member
        if m is None:
            new_rows.append(r)
        elif not any(y > year for y in enrollments.get(m[_M_ID], {})):
            # Only the member's latest year may change their details and current union.
            existing.append(r)
    updates = _member_updates(existing, union.id, now)
    # Inserting in key order keeps the index B-trees' writes local (faster on both databases).
    new_rows.sort(key=lambda r: r.id_number)
    new_ids = bulk_insert(
        Member,
        (
            "id_number_encrypted",
            "id_number_hash",
            "id_number_masked",
            "name",
            "phone_encrypted",
            "phone_hash",
            "phone_masked",
            "sex",
            "birth_date",
            "bank_name",
            "bank_account_encrypted",
            "bank_account_last4",
            "union",
            "user",
            "created_at",
            "updated_at",
        ),
        _new_member_rows(new_rows, union.id, now_text),
        count=len(new_rows),
        dates_as_text=True,
    )
    bulk_update_rows(
        Member,
        (
            "phone_encrypted",
            "phone_hash",
            "phone_masked",
            "bank_name",
            "bank_account_encrypted",
            "bank_account_last4",
            "union",
            "updated_at",
        ),
        updates,
    )
    member_ids = {r.id_number: pk for r, pk in zip(new_rows, new_ids, strict=True)}
    fee = scheme_year.fee_per_member_fen
    day_text = {d: as_db_text(d) for d in {r.enrolled_on for r in rows if r.enrolled_on}}
    enrollment_rows = [
        (
            member_ids[r.id_number] if r.member is None else r.member[_M_ID],
            scheme_year.id,
            union.id,
            day_text[r.enrolled_on],
            fee,
            None,
            batch.id,
            now_text,
        )
        for r in rows
        if r.status in (STATUS_NEW, STATUS_RENEWAL)
    ]
    enrollment_rows.sort()
    consent_enrollment_record(
        batch=batch,
        answers=[
            (
                member_ids[r.id_number] if r.member is None else r.member[_M_ID],
                r.consent,
                r.member is not None,
            )
            for r in rows
            if r.status in (STATUS_NEW, STATUS_RENEWAL, STATUS_ALREADY)
        ],
        attested=attested,
        acting_user=acting_user,
        now=now,
    )
    bulk_insert(
        Enrollment,
        (
            "member",
            "scheme_year",
            "union",
            "enrolled_on",
            "fee_fen",
            "withdrawn_at",
            "import_batch",
            "created_at",
        ),
        enrollment_rows,
        dates_as_text=True,
        returning=False,
    )
    audit_record(
        actor=acting_user,
        action="enrollment.import",
        obj=batch,
        after={
            **summary,
            "file_name": file_name,
            "union": union.code,
            "year": year,
            "members_created": len(new_rows),
            "members_updated": len(updates),
        },
    )
    return batch.id


def _member_updates(rows: list[Row], union_id: int, now) -> list[tuple[int, tuple]]:
    """[(member id, (phone encrypted, hash, masked, bank_name, encrypted, last4, union_id,
    now))] for the existing members whose details the file changes. Blank cells keep the
    stored value; a phone is compared by its blind index; a stored account is decrypted (in
    one batch) only when its last four digits match the file's."""
    to_check = [
        r
        for r in rows
        if r.bank_account and r.bank_account[-4:] == r.member[_M_LAST4] and r.member[_M_ENC]
    ]
    stored = dict(
        zip(
            (r.member[_M_ID] for r in to_check),
            decrypt_text_many([r.member[_M_ENC] for r in to_check]),
            strict=True,
        )
    )
    with_phone = [r for r in rows if r.phone]
    keys = field_keys()
    # The file's phone under each configured key (a stored index under an old key still
    # counts as the same phone during a rotation).
    phone_hashes = [
        blind_index_many("phone", [r.phone for r in with_phone], field_key=k) for k in keys
    ]
    phone_hash = {id(r): [h[i] for h in phone_hashes] for i, r in enumerate(with_phone)}
    changed_phone = [r for r in with_phone if r.member[_M_PHONE] not in phone_hash[id(r)]]
    phone_tokens = dict(
        zip(
            (id(r) for r in changed_phone),
            encrypt_text_many([r.phone for r in changed_phone]),
            strict=True,
        )
    )
    updates = []
    for r in rows:
        m = r.member
        bank_name = r.bank_name or m[_M_BANK]
        encrypted, last4 = m[_M_ENC], m[_M_LAST4]
        account = r.bank_account
        if account and stored.get(m[_M_ID]) != account:
            encrypted, last4 = encrypt_text(account), account[-4:]
        token = phone_tokens.get(id(r))
        if (
            token is not None
            or bank_name != m[_M_BANK]
            or encrypted != m[_M_ENC]
            or union_id != m[_M_UNION]
        ):
            phone = (
                (token, phone_hash[id(r)][0], mask_phone(r.phone))
                if token is not None
                else (m[_M_PHONE_ENC], m[_M_PHONE], m[_M_PHONE_MASKED])
            )
            updates.append((m[_M_ID], (*phone, bank_name, encrypted, last4, union_id, now)))
    return updates
