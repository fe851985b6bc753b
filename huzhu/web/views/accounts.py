"""Staff accounts page (/staff/accounts/, administrators): logins with role and union,
password and second-factor resets, lockout unlocks. Every change is audited by the service."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from huzhu.organizations.accounts import (
    AccountError,
    AccountInput,
    staff_account_create,
    staff_account_update,
    staff_password_reset,
)
from huzhu.organizations.models import Role, User
from huzhu.organizations.security import (
    has_second_factor,
    lockout_clear,
    lockouts_active,
    second_factor_reset,
)
from huzhu.portal.services import portal_groups_sync
from huzhu.web.forms import StaffAccountFilterForm, StaffAccountForm
from huzhu.web.permissions import staff_required

from ._common import paginate


def _staff_logins():
    return User.objects.filter(Q(is_superuser=True) | ~Q(role=Role.MEMBER)).select_related("union")


def _account_input(form) -> AccountInput:
    data = form.cleaned_data
    return AccountInput(role=data["role"], union=data["union"], first_name=data["first_name"])


@staff_required("accounts")
def account_list(request):
    form = StaffAccountFilterForm(request.GET or None)
    accounts = _staff_logins().order_by("username")
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            accounts = accounts.filter(Q(username__icontains=q) | Q(first_name__icontains=q))
        if form.cleaned_data["role"]:
            accounts = accounts.filter(role=form.cleaned_data["role"])
    page = paginate(request, accounts)
    locked = lockouts_active()
    rows = [
        {
            "user": user,
            "second_factor": has_second_factor(user),
            "locked": locked.get(user.username, []),
        }
        for user in page
    ]
    return render(
        request,
        "web/accounts/list.html",
        {"form": form, "page": page, "rows": rows, "locked": locked},
    )


@never_cache
@staff_required("accounts")
def account_create(request):
    form = StaffAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, password = staff_account_create(
                acting_user=request.user,
                username=form.cleaned_data["username"],
                account=_account_input(form),
            )
        except AccountError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            portal_groups_sync(user=user, acting_user=request.user)
            return render(
                request, "web/accounts/password.html", {"account": user, "password": password}
            )
    return render(request, "web/accounts/form.html", {"form": form, "creating": True})


@never_cache
@staff_required("accounts")
def account_edit(request, pk: int):
    account = get_object_or_404(_staff_logins(), pk=pk)
    initial = {
        "username": account.username,
        "first_name": account.first_name,
        "role": account.role,
        "union": account.union,
        "is_active": account.is_active,
    }
    form = StaffAccountForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            staff_account_update(
                acting_user=request.user,
                user=account,
                account=_account_input(form),
                is_active=form.cleaned_data["is_active"],
            )
        except AccountError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            account.refresh_from_db()
            portal_groups_sync(user=account, acting_user=request.user)
            messages.success(request, f"账号“{account.username}”已保存。")
            return redirect("web:account_list")
    return render(
        request,
        "web/accounts/form.html",
        {
            "form": form,
            "account": account,
            "second_factor": has_second_factor(account),
            "locked": lockouts_active().get(account.username, []),
        },
    )


@never_cache
@require_POST
@staff_required("accounts")
def account_password_reset(request, pk: int):
    account = get_object_or_404(_staff_logins(), pk=pk)
    password = staff_password_reset(acting_user=request.user, user=account)
    return render(
        request,
        "web/accounts/password.html",
        {"account": account, "password": password, "reset": True},
    )


@require_POST
@staff_required("accounts")
def account_second_factor_reset(request, pk: int):
    account = get_object_or_404(_staff_logins(), pk=pk)
    second_factor_reset(
        user=account, acting_user=request.user, reason=request.POST.get("reason", "")
    )
    messages.success(request, f"已重置“{account.username}”的两步验证，该账号下次登录时重新设置。")
    return redirect("web:account_edit", pk=account.pk)


@require_POST
@staff_required("accounts")
def account_unlock(request, pk: int):
    account = get_object_or_404(_staff_logins(), pk=pk)
    lockout_clear(username=account.username, acting_user=request.user)
    messages.success(request, f"已解除“{account.username}”的登录锁定。")
    return redirect("web:account_edit", pk=account.pk)
