"""Claim reads, scoped to what the user may see.

Visibility (domain.md "Roles"): a member sees their own claims (drafts included); a union
operator sees the claims of its union and the unions below it; federation reviewers, finance
and administrators see every claim. Staff never see a member's unsent draft. Other roles
(portal editors) see no claim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from django.db.models import DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Now
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.members.models import Member
from huzhu.members.selectors import member_search_condition
from huzhu.organizations.models import Role
from huzhu.organizations.selectors import union_descendant_ids, union_visible_ids

from .models import (
    AdjustmentItem,
    AdjustmentStatus,
    Claim,
    ClaimFiler,
    ClaimStatus,
    ClaimTransition,
    Notification,
)

S = ClaimStatus
_FEDERATION_ROLES = {Role.FEDERATION_REVIEWER, Role.FEDERATION_FINANCE, Role.ADMIN}


def claim_visible_queryset(user) -> QuerySet[Claim]:
    """Every claim `user` may see (no ordering or filters applied beyond scope)."""
    qs = Claim.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_superuser or user.role in _FEDERATION_ROLES:
        return qs.exclude(status=S.DRAFT)
    if user.role == Role.UNION_OPERATOR:
        ids = union_visible_ids(user)
        if ids is None:  # pragma: no cover - operators always have a finite scope
            return qs.exclude(status=S.DRAFT)
        return qs.filter(union_id__in=ids).exclude(status=S.DRAFT)
    if user.role == Role.MEMBER:
        return qs.filter(member__in=Member.objects.filter(user_id=user.pk))
    return qs.none()


def access_claim_by_id(user, claim_id) -> Claim:
    """The claim if `user` may see it; the same Http404 when it is missing or not theirs."""
    try:
        claim_id = int(claim_id)
    except (TypeError, ValueError):
        raise Http404(_("申请不存在。"))
    claim = (
        claim_visible_queryset(user)
        .select_related("member", "union", "scheme_year")
        .filter(pk=claim_id)
        .first()
    )
    if claim is None:
        raise Http404(_("申请不存在。"))
    return claim


def access_claim_by_number(user, number: str) -> Claim:
    """As `access_claim_by_id`, by claim number (HZ2026-000123)."""
    claim = (
        claim_visible_queryset(user)
        .select_related("member", "union", "scheme_year")
        .filter(number=(number or "").strip().upper())
        .first()
    )
    if claim is None:
        raise Http404(_("申请不存在。"))
    return claim


@dataclass
class ClaimFilters:
    """Filters of the claim lists and review queues; empty values filter nothing."""

    status: str | list[str] | None = None
    source: str | None = None
    filer: str | None = None
    benefit_code: str | None = None
    payee_kind: str | None = None
    union_id: int | None = None  # this union and the unions below it
    scheme_year: int | None = None  # the year number, e.g. 2026
    member_id: int | None = None
    number: str | None = None  # a claim number, or its beginning
    person: str | None = None  # the member's name or ID number (see member_search_condition)
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    approved_from: dt.date | None = None
    approved_to: dt.date | None = None
    min_wait_days: int | None = None  # in the current status for at least this long

    @classmethod
    def of(cls, filters: ClaimFilters | dict | None) -> ClaimFilters:
        if filters is None:
            return cls()
        if isinstance(filters, cls):
            return filters
        known = {f.name for f in fields(cls)}
        unknown = set(filters) - known
        if unknown:
            raise ValueError(f"unknown claim filters: {sorted(unknown)}")
        return cls(**filters)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _apply_filters(qs: QuerySet[Claim], f: ClaimFilters, now: dt.datetime) -> QuerySet[Claim]:
    if f.status:
        qs = qs.filter(status__in=[f.status] if isinstance(f.status, str) else list(f.status))
    for name in ("source", "filer", "benefit_code", "payee_kind", "member_id"):
        value = getattr(f, name)
        if value not in (None, ""):
            qs = qs.filter(**{name: value})
    if f.union_id:
        qs = qs.filter(union_id__in=union_descendant_ids([f.union_id]))
    if f.scheme_year:
        qs = qs.filter(scheme_year__year=f.scheme_year)
    if f.number:
        qs = qs.filter(number__startswith=f.number.strip().upper())
    if f.person:
        cond = member_search_condition(f.person)
        if cond is not None:
            qs = qs.filter(member__in=Member.objects.filter(cond).values("pk"))
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + dt.timedelta(days=1)))
    if f.approved_from:
        qs = qs.filter(approved_at__gte=_day_start(f.approved_from))
    if f.approved_to:
        qs = qs.filter(approved_at__lt=_day_start(f.approved_to + dt.timedelta(days=1)))
    if f.min_wait_days:
        qs = qs.filter(status_changed_at__lte=now - dt.timedelta(days=f.min_wait_days))
    return qs


def claim_list(user, filters: ClaimFilters | dict | None = None) -> QuerySet[Claim]:
    """The claims `user` may see, filtered, newest first."""
    qs = _apply_filters(claim_visible_queryset(user), ClaimFilters.of(filters), timezone.now())
    return qs.select_related("member", "union", "scheme_year").order_by("-created_at", "-id")


def _with_wait(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    return qs.annotate(
        waited=ExpressionWrapper(Now() - F("status_changed_at"), output_field=DurationField())
    ).order_by("status_changed_at", "id")


def claim_union_review_queue(
    user, filters: ClaimFilters | dict | None = None, *, now: dt.datetime | None = None
) -> QuerySet[Claim]:
    """Claims waiting for the union's first review: member-filed, `submitted`, in the
    operator's scope. Oldest first; `waited` is how long each has been waiting."""
    if user is None or not user.is_authenticated or user.role != Role.UNION_OPERATOR:
        return Claim.objects.none()
    qs = claim_visible_queryset(user).filter(status=S.SUBMITTED, filer=ClaimFiler.MEMBER)
    qs = _apply_filters(qs, ClaimFilters.of(filters), now or timezone.now())
    return _with_wait(qs.select_related("member", "union"))


def claim_federation_review_queue(
    user, filters: ClaimFilters | dict | None = None, *, now: dt.datetime | None = None
) -> QuerySet[Claim]:
    """Claims a federation reviewer can decide: `union_reviewed`, or `submitted` when the
    platform or a union operator filed them. Oldest first, with `waited`."""
    if user is None or not user.is_authenticated:
        return Claim.objects.none()
    if not (user.is_superuser or user.role in _FEDERATION_ROLES):
        return Claim.objects.none()
    qs = claim_visible_queryset(user).filter(
        Q(status=S.UNION_REVIEWED) | (Q(status=S.SUBMITTED) & ~Q(filer=ClaimFiler.MEMBER))
    )
    qs = _apply_filters(qs, ClaimFilters.of(filters), now or timezone.now())
    return _with_wait(qs.select_related("member", "union"))


def claim_timeline(claim: Claim) -> list[ClaimTransition]:
    """The claim's steps in order, for the member's timeline and the staff page."""
    return list(claim.transitions.select_related("actor").order_by("at", "id"))


def member_notifications(member, *, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(member=member).order_by("-created_at", "-id")[:limit])


def adjustment_open_items(*, member_id: int | None = None, kind: str | None = None):
    """Open adjustment items (oldest first), optionally of one member or kind."""
    qs = AdjustmentItem.objects.filter(status=AdjustmentStatus.OPEN).select_related("claim")
    if member_id is not None:
        qs = qs.filter(member_id=member_id)
    if kind is not None:
        qs = qs.filter(kind=kind)
    return qs.order_by("created_at", "id")
