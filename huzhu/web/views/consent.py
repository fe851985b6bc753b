"""同意书 (staff): the current consent text and its versions; administrators and the portal's
editors publish a new version (members are asked again at their next login on /m/)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render

from huzhu.enrollment.consent import consent_text_current, consent_text_publish
from huzhu.enrollment.models import ConsentStatus, ConsentText, MemberConsent
from huzhu.web.permissions import can_open, staff_required


class ConsentTextForm(forms.Form):
    title = forms.CharField(label="标题", max_length=128)
    body = forms.CharField(
        label="正文",
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="写明处理哪些信息、由谁处理、为什么处理、保存多久，以及如何撤回同意。",
    )


@staff_required("consent")
def consent_text_view(request):
    current = consent_text_current()
    may_publish = can_open(request.user, "consent_publish")
    form = None
    if may_publish:
        initial = {"title": current.title, "body": current.body} if current else {}
        form = ConsentTextForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not may_publish:
            raise PermissionDenied("may not publish the consent text")
        if form.is_valid():
            try:
                text = consent_text_publish(
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.error_dict.items():
                    for error in errors:
                        form.add_error(field, error)
            else:
                messages.success(
                    request,
                    f"已发布第{text.version}版同意书；职工下次登录时会再次询问是否同意。",
                )
                return redirect("web:consent_text")
    counts = {
        row["status"]: row["n"]
        for row in MemberConsent.objects.values("status").annotate(n=Count("member_id"))
    }
    return render(
        request,
        "web/consent_text.html",
        {
            "current": current,
            "versions": ConsentText.objects.select_related("published_by").order_by("-version"),
            "form": form,
            "withheld": counts.get(ConsentStatus.REFUSED, 0)
            + counts.get(ConsentStatus.WITHDRAWN, 0),
            "refused": counts.get(ConsentStatus.REFUSED, 0),
            "withdrawn": counts.get(ConsentStatus.WITHDRAWN, 0),
        },
        status=400 if form is not None and form.is_bound else 200,
    )
