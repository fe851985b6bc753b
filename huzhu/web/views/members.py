from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.audit.models import AuditEvent
from huzhu.claims.selectors import ClaimFilters, claim_list
from huzhu.enrollment.consent import consent_state
from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.selectors import enrollment_cover_begun, enrollments_with_coverage
from huzhu.enrollment.services import enrollment_withdraw
from huzhu.members.selectors import access_member_by_id, member_list
from huzhu.members.services import member_reveal, member_update
from huzhu.organizations.models import Role
from huzhu.organizations.selectors import union_visible_ids
from huzhu.payments.cards import bank_card_reminders_send, members_without_valid_card
from huzhu.web.forms import MemberCorrectionForm, MemberSearchForm, RevealForm, WithdrawForm
from huzhu.web.permissions import REVEAL_ROLES, can_open, has_role, staff_required

from ._common import paginate
from ._exports import export_xlsx

REVEAL_LABELS = {"id_number": "身份证号", "phone": "手机号", "bank_account": "银行账号"}


@staff_required("members")
def member_list_view(request):
    """职工名单: search by name or (masked) ID number, filter by union and year, paginated."""
    form = MemberSearchForm(request.GET or None, user=request.user)
    filters = {"q": "", "union_id": None, "year": None}
    if form.is_bound and form.is_valid():
        union = form.cleaned_data["union"]
        filters = {
            "q": (form.cleaned_data["q"] or "").strip(),
            "union_id": union.id if union else None,
            "year": form.cleaned_data["year"],
        }
    qs = member_list(user=request.user, **filters).select_related("union")
    if request.GET.get("export") == "xlsx":
        return export_xlsx(request, "members", qs, {k: v for k, v in filters.items() if v})
    page = paginate(request, qs)
    return render(
        request,
        "web/member_list.html",
        {"form": form, "page": page, "filters": filters, "total": page.paginator.count},
    )


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "；".join(str(m) for m in exc.messages)
    return str(getattr(exc, "message", None) or exc)


def _render_detail(
    request, member, *, revealed=None, edit_form=None, withdraw_form=None, status=200
):
    user = request.user
    visible = union_visible_ids(user)
    today = timezone.localdate()
    enrollments = list(
        enrollments_with_coverage(
            Enrollment.objects.filter(member=member).select_related("scheme_year", "union")
        ).order_by("-scheme_year__year", "-created_at")
    )
    may_withdraw = can_open(user, "enrollment_withdraw")
    for e in enrollments:
        # A hint for the button only; enrollment_withdraw decides.
        e.can_withdraw = (
            may_withdraw
            and e.withdrawn_at is None
            and not enrollment_cover_begun(e, today=today)
            and (visible is None or e.union_id in visible)
        )
    history = AuditEvent.objects.filter(
        Q(object_type="members.member", object_id=str(member.pk))
        | Q(object_type="enrollment.enrollment", object_id__in=[str(e.pk) for e in enrollments])
    ).select_related("actor")[:30]
    claims = claim_list(user, ClaimFilters(member_id=member.pk)).exclude(status="draft")[:50]
    context = {
        "member": member,
        "enrollments": enrollments,
        "claims": claims,
        "can_file_claim": user.role == Role.UNION_OPERATOR,
        "revealed": revealed or {},
        "reveal_labels": REVEAL_LABELS,
        "can_edit": can_open(user, "member_edit"),
        "edit_form": edit_form
        or MemberCorrectionForm(initial={"name": member.name, "bank_name": member.bank_name}),
        "withdraw_form": withdraw_form or WithdrawForm(),
        "history": history,
        "consent": consent_state(member),
    }
    response = render(request, "web/member_detail.html", context, status=status)
    if revealed:
        response["Cache-Control"] = "no-store"
    return response


@staff_required("members")
def member_detail(request, pk: int):
    """职工详情: details, enrollments per year, reveal, correction, withdrawal."""
    member = access_member_by_id(request.user, pk)
    return _render_detail(request, member)


@require_POST
@staff_required("members")
def member_reveal_view(request, pk: int):
    """Show one masked value in clear, once, in this response; the service audits it."""
    member = access_member_by_id(request.user, pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("unknown field")
    field = form.cleaned_data["field"]
    if not has_role(request.user, REVEAL_ROLES[field]):
        raise PermissionDenied("may not reveal this field")
    value = member_reveal(member=member, field=field, acting_user=request.user)
    return _render_detail(request, member, revealed={field: value})


@require_POST
@staff_required("member_edit")
def member_edit(request, pk: int):
    """An operator corrects a member's details (audited by member_update)."""
    member = access_member_by_id(request.user, pk)
    form = MemberCorrectionForm(request.POST)
    if form.is_valid():
        changes = form.changes(member)
        if not changes:
            messages.info(request, "没有需要保存的修改。")
            return redirect("web:member_detail", pk=member.pk)
        try:
            member_update(member=member, acting_user=request.user, **changes)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form.add_error(None, exc)
        except ValueError as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, "职工信息已更新，修改已记录。")
            return redirect("web:member_detail", pk=member.pk)
    member.refresh_from_db()
    return _render_detail(request, member, edit_form=form, status=400)


@require_POST
@staff_required("enrollment_withdraw")
def enrollment_withdraw_view(request, pk: int):
    """Withdraw an enrollment while no cover has begun (退保); reason required, audited."""
    enrollment = get_object_or_404(Enrollment.objects.select_related("scheme_year"), pk=pk)
    member = access_member_by_id(request.user, enrollment.member_id)
    visible = union_visible_ids(request.user)
    if visible is not None and enrollment.union_id not in visible:
        raise Http404("enrollment not found")
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, member, withdraw_form=form, status=400)
    try:
        enrollment_withdraw(
            enrollment=enrollment, acting_user=request.user, reason=form.cleaned_data["reason"]
        )
    except (ValidationError, ValueError) as exc:
        messages.error(request, f"无法退保：{_error_text(exc)}")
    else:
        messages.success(request, f"{enrollment.scheme_year.year}年度参保已退保。")
    return redirect("web:member_detail", pk=member.pk)


@staff_required("members")
def member_card_worklist(request):
    """银行卡待补录: members whose money cannot go out for want of a valid card; a reminder
    to each (or to the ones ticked), at most once a week per member."""
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("member") if v.isdigit()]
        sent, skipped = bank_card_reminders_send(acting_user=request.user, member_ids=ids)
        if sent:
            messages.success(request, f"已向 {sent} 名职工发送登记银行卡的提醒。")
        if skipped:
            messages.info(request, f"{skipped} 名职工一周内已提醒过，本次未重复发送。")
        if not sent and not skipped:
            messages.info(request, "请先勾选要提醒的职工。")
        return redirect("web:member_card_worklist")
    problems = members_without_valid_card(request.user)
    return render(
        request,
        "web/member_cards.html",
        {
            "problems": problems,
            "waiting_total": sum(p.waiting_fen for p in problems),
            "waiting_count": sum(1 for p in problems if p.waiting_fen),
        },
    )
