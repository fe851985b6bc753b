"""Who may open which staff page. Views use `staff_required(*roles)`; templates `can_open`.

Role checks live here; union *scope* (which members and unions a user may see) lives in the
selectors (`union_visible_ids`, `access_member_by_id`), so a page needs both: the role gate
here and a scoped fetch in the view.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from huzhu.organizations.models import FEDERATION_ROLES, Role

__all__ = [
    "STAFF_ROLES",
    "MEMBER_DATA_ROLES",
    "PAGE_ROLES",
    "REVEAL_ROLES",
    "has_role",
    "staff_required",
    "can_open",
]

# Everyone but members: the people who log in at /staff/.
STAFF_ROLES = frozenset(Role) - {Role.MEMBER}
# Staff who work with members' personal data (portal editors do not).
MEMBER_DATA_ROLES = frozenset(
    {Role.UNION_OPERATOR, Role.FEDERATION_REVIEWER, Role.FEDERATION_FINANCE, Role.ADMIN}
)

# Page (or action) -> roles allowed. Superusers pass every check.
PAGE_ROLES: dict[str, frozenset[str]] = {
    "dashboard": STAFF_ROLES,
    "unions": MEMBER_DATA_ROLES,
    "members": MEMBER_DATA_ROLES,
    # Correcting a member's details and withdrawing an enrollment: the member's union operator.
    "member_edit": frozenset({Role.UNION_OPERATOR, Role.ADMIN}),
    "enrollment_withdraw": frozenset({Role.UNION_OPERATOR, Role.ADMIN}),
    "enrollment_import": frozenset({Role.UNION_OPERATOR, Role.FEDERATION_REVIEWER, Role.ADMIN}),
    "fees": MEMBER_DATA_ROLES,
    # Payment batches (代发): federation finance.
    "payments": frozenset({Role.FEDERATION_FINANCE, Role.ADMIN}),
    # Operations: periodic jobs, workers, health (huzhu/ops).
    "ops": frozenset({Role.ADMIN}),
    # Staff accounts (create, change, disable, reset, unlock): administrators.
    "accounts": frozenset({Role.ADMIN}),
    # The audit trail (read-only): administrators and auditors.
    "audit": frozenset({Role.ADMIN, Role.AUDITOR}),
    # Plans (互助方案): federation staff read them; a reviewer or an admin loads a new file.
    "plans": frozenset({Role.FEDERATION_REVIEWER, Role.FEDERATION_FINANCE, Role.ADMIN}),
    "plan_load": frozenset({Role.FEDERATION_REVIEWER, Role.ADMIN}),
    # Reports (报表): everyone who works with members' data, scoped to their unions.
    "reports": MEMBER_DATA_ROLES,
    # The consent text (个人信息处理同意书): staff who enroll or edit read it; administrators and
    # the portal's editors publish a new version.
    "consent": MEMBER_DATA_ROLES | {Role.PORTAL_EDITOR, Role.PORTAL_CHIEF_EDITOR},
    "consent_publish": frozenset({Role.ADMIN, Role.PORTAL_EDITOR, Role.PORTAL_CHIEF_EDITOR}),
}

# Revealing a masked value (an audited action). The union operator checks both when a
# member's claim or bank details are wrong; the reviewer checks identities; finance pays.
REVEAL_ROLES: dict[str, frozenset[str]] = {
    "id_number": MEMBER_DATA_ROLES,
    "phone": MEMBER_DATA_ROLES,
    "bank_account": frozenset({Role.UNION_OPERATOR, Role.FEDERATION_FINANCE, Role.ADMIN}),
}


def has_role(user, roles) -> bool:
    """True when an authenticated, active user holds one of `roles` (superusers: always)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return getattr(user, "role", None) in roles


def can_open(user, page: str) -> bool:
    return has_role(user, PAGE_ROLES[page])


def is_federation_staff(user) -> bool:
    return bool(user.is_superuser or getattr(user, "role", None) in FEDERATION_ROLES)


def staff_required(*roles):
    """Decorate a view: anonymous -> login page; logged in without one of `roles` -> 403.

    `staff_required()` with no roles admits every staff role (not members).
    `staff_required("members")`-style page names are accepted too, looked up in PAGE_ROLES.
    """
    allowed: set[str] = set()
    for r in roles or (STAFF_ROLES,):
        if isinstance(r, (set, frozenset, list, tuple)):
            allowed |= set(r)
        elif r in PAGE_ROLES:
            allowed |= PAGE_ROLES[r]
        elif r in Role.values:
            allowed.add(r)
        else:
            raise ValueError(f"unknown role or page: {r!r}")
    allowed_frozen = frozenset(allowed)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, allowed_frozen):
                raise PermissionDenied("staff role required")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = allowed_frozen
        return wrapped

    return decorator
