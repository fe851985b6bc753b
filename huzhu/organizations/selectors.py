"""Reads of the union tree, scoped to what a user may see."""

from collections.abc import Iterable

from .models import Role, Union


def union_descendant_ids(root_ids: Iterable[int]) -> set[int]:
    """The given unions and every union below them (the tree is a few levels deep)."""
    found = set(root_ids)
    frontier = set(found)
    while frontier:
        frontier = (
            set(Union.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
        )
        found |= frontier
    return found


def union_visible_ids(user) -> set[int] | None:
    """Union ids the user may see; None means every union (federation staff).

    A staff account sees its own union and its descendants; an account with no union and no
    federation role sees nothing.
    """
    if user.is_superuser or getattr(user, "role", None) in {
        Role.ADMIN,
        Role.FEDERATION_REVIEWER,
        Role.FEDERATION_FINANCE,
    }:
        return None
    if getattr(user, "union_id", None) is None:
        return set()
    return union_descendant_ids([user.union_id])


def union_list_visible(user):
    ids = union_visible_ids(user)
    qs = Union.objects.select_related("parent")
    return qs if ids is None else qs.filter(id__in=ids)
