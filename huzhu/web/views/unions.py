from dataclasses import dataclass, field

from django.db.models import Count
from django.shortcuts import render

from huzhu.enrollment.models import Enrollment
from huzhu.members.models import Member
from huzhu.organizations.models import Union
from huzhu.organizations.selectors import union_list_visible
from huzhu.web.permissions import staff_required

from ._common import current_scheme_year


@dataclass
class TreeRow:
    union: Union
    depth: int
    members: int = 0
    enrolled: int = 0
    subtree_members: int = 0
    subtree_enrolled: int = 0
    children: list["TreeRow"] = field(default_factory=list)

    @property
    def indent_em(self) -> float:
        return self.depth * 1.5


def _count_by_union(qs) -> dict[int, int]:
    return dict(qs.values_list("union_id").annotate(n=Count("id")).values_list("union_id", "n"))


@staff_required("unions")
def union_tree(request):
    """The union tree (工会组织): the whole tree for federation staff, the own subtree else.

    Each row shows the union's own members and enrollments in the current scheme year, and
    the totals of its subtree.
    """
    unions = list(union_list_visible(request.user).order_by("code"))
    ids = [u.id for u in unions]
    scheme_year = current_scheme_year()
    members = _count_by_union(Member.objects.filter(union_id__in=ids))
    enrolled = (
        _count_by_union(
            Enrollment.objects.filter(
                union_id__in=ids, scheme_year=scheme_year, withdrawn_at__isnull=True
            )
        )
        if scheme_year
        else {}
    )

    rows = {
        u.id: TreeRow(
            union=u, depth=0, members=members.get(u.id, 0), enrolled=enrolled.get(u.id, 0)
        )
        for u in unions
    }
    roots = []
    for u in unions:
        parent = rows.get(u.parent_id)
        (parent.children if parent else roots).append(rows[u.id])

    flat: list[TreeRow] = []

    def walk(row: TreeRow, depth: int) -> tuple[int, int]:
        row.depth = depth
        flat.append(row)
        row.subtree_members, row.subtree_enrolled = row.members, row.enrolled
        for child in row.children:
            m, e = walk(child, depth + 1)
            row.subtree_members += m
            row.subtree_enrolled += e
        return row.subtree_members, row.subtree_enrolled

    for root in roots:
        walk(root, 0)

    return render(
        request,
        "web/union_tree.html",
        {"rows": flat, "scheme_year": scheme_year},
    )
