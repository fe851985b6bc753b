"""Consent to processing personal information (个人信息处理同意书; PIPL art. 29).

Most members never log in, so consent is collected by the union on the paper enrollment form
and recorded by the enrollment import: the batch (`EnrollmentImport`) carries the text
version the operator attested, who attested it and when, which holds for every member it
enrolled; a row whose 同意书 cell says 否 is recorded one by one as a refusal
(`MemberConsent`). A member also reads and answers the text on /m/ (at the first binding and
when a newer version is published) and may withdraw there.

A refusal or a withdrawal withholds consent: the member's bureau settlement records (file
import, push API, one-stop) are kept for a reviewer and never paid automatically
(`consent_withheld_member_ids`, used by the settlement import and the one-stop through the
review reasons in `huzhu.settlements.frames`). Online claims stay open to them.

Every change is an audit event: `consent.text_publish`, `consent.accept`, `consent.withdraw`
(member, on /m/), `consent.enrollment` (per import run: version, attestation, the members
whose consent changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from huzhu.audit.services import audit_record
from huzhu.core.bulk import values_in

from .models import (
    ConsentSource,
    ConsentStatus,
    ConsentText,
    Enrollment,
    EnrollmentImport,
    MemberConsent,
)
from .rowchecks import CONSENT_VALUES, parse_consent_cell

__all__ = [
    "CONSENT_VALUES",
    "ConsentState",
    "consent_answer_due",
    "consent_answered_version",
    "consent_member_answer",
    "consent_state",
    "consent_text_current",
    "consent_text_publish",
    "consent_withheld",
    "consent_withheld_member_ids",
    "consent_enrollment_record",
    "parse_consent_cell",
]

WITHHELD = (ConsentStatus.REFUSED, ConsentStatus.WITHDRAWN)


def consent_text_current() -> ConsentText | None:
    """The newest published version (None when none was ever published)."""
    return ConsentText.objects.order_by("-version").first()


def consent_text_publish(*, title: str, body: str, acting_user) -> ConsentText:
    """Publish a new version (the next number); members are asked again at their next login
    on /m/. Audited (`consent.text_publish`). Raises ValidationError for an empty text."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ValidationError({"title": "请填写标题"}, code="title_required")
    if len(body) < 50:
        raise ValidationError(
            {"body": "正文过短：须写明处理哪些信息、由谁处理、为什么处理、保存多久"},
            code="body_too_short",
        )
    with transaction.atomic():
        latest = ConsentText.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
        text = ConsentText.objects.create(
            version=latest + 1,
            title=title[:128],
            body=body,
            published_at=timezone.now(),
            published_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        )
        audit_record(
            actor=acting_user,
            action="consent.text_publish",
            obj=text,
            before={"version": latest} if latest else None,
            after={"version": text.version, "title": text.title, "chars": len(text.body)},
        )
    return text


def consent_withheld_member_ids() -> list[int]:
    """Members whose consent is refused or withdrawn (their bureau records go to review)."""
    return list(
        MemberConsent.objects.filter(status__in=WITHHELD).values_list("member_id", flat=True)
    )


def consent_withheld(member_id: int) -> bool:
    return MemberConsent.objects.filter(member_id=member_id, status__in=WITHHELD).exists()


# --- the member's own answer on /m/ ------------------------------------------------------------


def consent_answer_due(member) -> ConsentText | None:
    """The current text when the member has not answered it on /m/ yet (first binding, or a
    newer version published since), else None."""
    current = consent_text_current()
    if current is None:
        return None
    return current if consent_answered_version(member) < current.version else None


def consent_answered_version(member) -> int:
    """The newest text version the member answered on /m/ (0: never)."""
    return (
        MemberConsent.objects.filter(member=member)
        .values_list("member_answered_version", flat=True)
        .first()
    ) or 0


def consent_member_answer(*, member, accept: bool, acting_user, text: ConsentText) -> MemberConsent:
    """The member accepts `text` or withdraws (declines) consent on /m/. Audited as
    `consent.accept` / `consent.withdraw` on the member, with the status before."""
    now = timezone.now()
    status = ConsentStatus.GIVEN if accept else ConsentStatus.WITHDRAWN
    with transaction.atomic():
        record = MemberConsent.objects.select_for_update().filter(member=member).first()
        if record is None:
            before = {"status": consent_state(member).status}
            record = MemberConsent(member=member)
        else:
            before = {"status": record.status, "version": record.text_id and record.text.version}
        record.status = status
        record.source = ConsentSource.MEMBER
        record.text = text
        record.attested_by = None
        record.enrollment_import = None
        record.recorded_at = now
        record.member_answered_version = max(record.member_answered_version, text.version)
        record.save()
        audit_record(
            actor=acting_user,
            action="consent.accept" if accept else "consent.withdraw",
            obj=member,
            before=before,
            after={"status": str(status), "version": text.version, "source": "member"},
        )
    return record


# --- what staff see ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentState:
    status: str  # "given" | "refused" | "withdrawn" | "unknown"
    label: str
    withheld: bool
    version: int | None
    source: str  # "enrollment" | "member" | ""
    attested_by: str  # who attested it (enrollment), "" otherwise
    at: datetime | None
    detail: str  # one sentence for the staff page


def consent_state(member) -> ConsentState:
    """The member's consent as staff see it: their own record, else the attestation of the
    newest import that enrolled them, else unknown (enrolled before consent was recorded)."""
    record = (
        MemberConsent.objects.filter(member=member)
        .select_related("text", "attested_by", "enrollment_import")
        .first()
    )
    if record is not None:
        version = record.text.version if record.text_id else None
        by = _person(record.attested_by) if record.source == ConsentSource.ENROLLMENT else ""
        if record.source == ConsentSource.MEMBER:
            how = "职工本人在线" + ("同意" if record.status == ConsentStatus.GIVEN else "撤回同意")
        elif record.status == ConsentStatus.REFUSED:
            how = f"参保登记表“同意书”为“否”（{by}导入）"
        else:
            how = f"参保登记时签署（{by}确认）"
        detail = f"{how}，{timezone.localtime(record.recorded_at):%Y-%m-%d %H:%M}"
        if version:
            detail += f"，第{version}版"
        if record.status in WITHHELD:
            detail += "；医保结算数据不再自动办理互助金，转人工审核，职工仍可在线申请"
        return ConsentState(
            status=record.status,
            label=ConsentStatus(record.status).label,
            withheld=record.status in WITHHELD,
            version=version,
            source=record.source,
            attested_by=by,
            at=record.recorded_at,
            detail=detail,
        )
    enrollment = (
        Enrollment.objects.filter(member=member, import_batch__consent_attested_at__isnull=False)
        .select_related("import_batch__consent_text", "import_batch__consent_attested_by")
        .order_by("-import_batch__consent_attested_at")
        .first()
    )
    if enrollment is not None:
        batch = enrollment.import_batch
        by = _person(batch.consent_attested_by)
        version = batch.consent_text.version if batch.consent_text_id else None
        detail = (
            f"参保登记时签署（{by}确认），"
            f"{timezone.localtime(batch.consent_attested_at):%Y-%m-%d %H:%M}"
        )
        if version:
            detail += f"，第{version}版"
        return ConsentState(
            status=ConsentStatus.GIVEN,
            label=ConsentStatus.GIVEN.label,
            withheld=False,
            version=version,
            source=ConsentSource.ENROLLMENT,
            attested_by=by,
            at=batch.consent_attested_at,
            detail=detail,
        )
    return ConsentState(
        status="unknown",
        label="未记录",
        withheld=False,
        version=None,
        source="",
        attested_by="",
        at=None,
        detail="没有同意书记录（在平台记录同意书之前参保）",
    )


def _person(user) -> str:
    if user is None:
        return "命令行导入"
    return user.get_full_name() or user.username


# --- at enrollment (called by the import, inside its transaction) ------------------------------


def consent_enrollment_record(
    *,
    batch: EnrollmentImport,
    answers: list[tuple[int, bool | None, bool]],
    attested: bool,
    acting_user,
    now,
) -> dict:
    """Record the consent of an enrollment import's members.

    `answers`: (member id, the row's 同意书 value: True / False / None for blank, whether the
    member existed before this run). With `attested`, the batch records the current text
    version, the operator and the time, which holds for every member without a record of
    their own. Rows saying 否 become refusals; a blank or 是 row reverses an earlier refusal
    on a form (a newer signed form), but only an explicit 是 reverses a withdrawal the member
    made themselves on /m/. A second run of the same file changes nothing.
    Returns {"refused": n, "given": n} (records changed) and audits `consent.enrollment`.
    """
    text = consent_text_current()
    actor = acting_user if getattr(acting_user, "is_authenticated", False) else None
    if attested:
        EnrollmentImport.objects.filter(pk=batch.pk).update(
            consent_text=text, consent_attested_by=actor, consent_attested_at=now
        )
    existing_ids = [mid for mid, _answer, existed in answers if existed]
    current: dict[int, tuple[str, str]] = {}
    if existing_ids:
        # One query over the file's existing members, whatever their number.
        where, params = values_in("member_id", existing_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT member_id, status, source FROM {MemberConsent._meta.db_table} "
                f"WHERE {where}",
                params,
            )
            current = {mid: (status, source) for mid, status, source in cursor.fetchall()}
    refuse_new, refuse, give, give_new = [], [], [], []
    for member_id, answer, _existed in answers:
        status, source = current.get(member_id, (None, None))
        if answer is False:
            if status is None:
                refuse_new.append(member_id)
            elif status != ConsentStatus.REFUSED:
                refuse.append(member_id)
        elif status is None:
            if answer is True and not attested:
                give_new.append(member_id)
        elif status != ConsentStatus.GIVEN:
            by_member = status == ConsentStatus.WITHDRAWN and source == ConsentSource.MEMBER
            if answer is True or (attested and not by_member):
                give.append(member_id)
    values = {
        "source": ConsentSource.ENROLLMENT,
        "text": text,
        "attested_by": actor,
        "enrollment_import": batch,
        "recorded_at": now,
    }
    MemberConsent.objects.bulk_create(
        [MemberConsent(member_id=mid, status=ConsentStatus.REFUSED, **values) for mid in refuse_new]
        + [MemberConsent(member_id=mid, status=ConsentStatus.GIVEN, **values) for mid in give_new]
    )
    for ids, status in ((refuse, ConsentStatus.REFUSED), (give, ConsentStatus.GIVEN)):
        for start in range(0, len(ids), 5000):
            MemberConsent.objects.filter(member_id__in=ids[start : start + 5000]).update(
                status=status, **values
            )
    changed = {"refused": len(refuse_new) + len(refuse), "given": len(give) + len(give_new)}
    if attested or changed["refused"] or changed["given"]:
        audit_record(
            actor=acting_user,
            action="consent.enrollment",
            obj=batch,
            after={
                "version": text.version if text else None,
                "attested": attested,
                "not_consented": sum(1 for _m, a, _e in answers if a is False),
                **changed,
                # Refusals are few; the ids name who (a withdrawal on /m/ is audited alone).
                "refused_member_ids": sorted(refuse_new + refuse)[:1000],
                "given_member_ids": sorted(give + give_new)[:1000],
            },
        )
    return changed
