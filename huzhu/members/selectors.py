"""Reads of the member registry, scoped to the unions a user may see.

A member belongs to the scope of their *current* union (`Member.union`, the union of their
latest enrollment): an operator sees the members of their union and its descendants.
"""

from __future__ import annotations

import re
import unicodedata

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from huzhu.organizations.selectors import union_descendant_ids, union_visible_ids

from .models import Member, id_number_q, phone_q

__all__ = ["access_member_by_id", "member_list", "members_visible"]

# "330683********1234", "330683*1234", "330683****", "****1234" as people type a masked ID.
_MASKED_RE = re.compile(r"^([0-9]{0,17})\*+([0-9]{0,17}X?)$")
_ID_PART_RE = re.compile(r"^[0-9]{1,17}X?$")
_ID_FULL_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_PHONE_RE = re.compile(r"^1[0-9]{10}$")


def members_visible(user) -> QuerySet:
    visible = union_visible_ids(user)
    qs = Member.objects.select_related("union")
    return qs if visible is None else qs.filter(union_id__in=visible)


def member_search_condition(q: str) -> Q | None:
    """The condition on Member for a search box: a name (or part of one), a full ID number
    or mobile number (exact, through its blind index), a masked ID as lists show it
    (`330683********1234`), or its first 6 / last 4 digits. None when `q` is blank.

    ID numbers are stored encrypted; the only clear parts are the masked form's first 6 and
    last 4 digits (`id_number_masked`), so a partial search matches on those: a longer
    prefix or suffix is narrowed to its first 6 / last 4 digits (the results may include
    members whose hidden digits differ; lists show the masked number either way)."""
    return _search(q)


def _search(q: str) -> Q | None:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", q)).upper()
    if not text:
        return None
    masked = _MASKED_RE.match(text)
    if masked:
        cond = Q()
        if masked[1]:
            cond &= Q(id_number_masked__startswith=masked[1][:6])
        if masked[2]:
            cond &= Q(id_number_masked__endswith=masked[2][-4:])
        return cond
    if _ID_FULL_RE.match(text):
        return id_number_q(text)
    if _ID_PART_RE.match(text):
        # The first 6 (region) or last 4 digits of an ID number, as lists show them; eleven
        # digits may also be a mobile number.
        cond = Q(id_number_masked__startswith=text[:6]) | Q(id_number_masked__endswith=text[-4:])
        return cond | phone_q(text) if _PHONE_RE.match(text) else cond
    return Q(name__icontains=text)


def member_list(
    *, user, q: str = "", union_id: int | None = None, year: int | None = None
) -> QuerySet:
    """Members the user may see, searched by name or ID fragment, filtered by union and year.

    `union_id` includes the union's descendants; with `year` it filters on the union the
    member was enrolled through that year, without `year` on the member's current union.
    `year` alone keeps members with an active enrollment in that scheme year.
    """
    from huzhu.enrollment.models import Enrollment

    qs = members_visible(user)
    cond = _search(q or "")
    if cond is not None:
        qs = qs.filter(cond)
    unions = union_descendant_ids([union_id]) if union_id is not None else None
    if year is not None:
        enrolled = Enrollment.objects.filter(
            member_id=OuterRef("pk"), scheme_year__year=year, withdrawn_at__isnull=True
        )
        if unions is not None:
            enrolled = enrolled.filter(union_id__in=unions)
        qs = qs.filter(Exists(enrolled))
    elif unions is not None:
        qs = qs.filter(union_id__in=unions)
    return qs.order_by("union__code", "name", "id")


def access_member_by_id(user, member_id: int) -> Member:
    """The member, or Http404 both when it does not exist and when it is outside the scope."""
    try:
        return members_visible(user).get(pk=member_id)
    except (Member.DoesNotExist, ValueError, TypeError):
        raise Http404("no such member") from None
