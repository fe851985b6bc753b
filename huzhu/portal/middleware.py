"""The admin's autosave racing its own save button on a page being created.

Wagtail 8 autosaves a new page: the first autosave creates it, and its answer tells the
browser to carry on as an edit of that page. A click on 保存草稿/发布 sent before that answer
arrived still posts to the "new page" address. Alone, Wagtail then either creates a second
page (two drafts of one notice) or, when the slug it checked a moment ago has just been
taken by the autosave, fails with a 500 (the issue's "autosave racing the save button").

Here, creating pages under one parent is serialised (a row lock on the parent on
PostgreSQL; SQLite's IMMEDIATE transactions serialise writers already), each page created
from the form is remembered for a short while (`AutosavedCreation`, with whether an
autosave made it), and within that while, for the same user, parent and slug:
- a click's "create" after an autosave made the page goes to the edit view of that page —
  one page, holding what the click sent;
- an autosave's "create" after a click made the page writes nothing (Wagtail's own
  `invalid_revision` answer: the browser is leaving the form anyway);
- a click's "create" after a click made a page creates a second page, as before (two
  notices with one title are common; `PortalPageForm` gives it `-2`).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.http import JsonResponse
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from huzhu.portal.models import AutosavedCreation

#: How long after an autosave created a page a "create" post is taken as its racing twin.
TWIN_WINDOW = timedelta(seconds=30)
_CREATE = "wagtailadmin_pages:add"
_EDIT = "wagtailadmin_pages:edit"


def _is_autosave(request) -> bool:
    return not request.accepts("text/html")


class PageCreateRaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != _CREATE:
            return None
        if not request.user.is_authenticated:
            return None
        parent_id = view_kwargs.get("parent_page_id")
        slug = request.POST.get("slug", "")
        autosave = _is_autosave(request)
        with transaction.atomic():
            # Serialise page creation under this parent (a no-op lock on SQLite, where the
            # IMMEDIATE transaction has taken the write lock already).
            parent = Page.objects.select_for_update().filter(pk=parent_id).first()
            if parent is None or not slug:
                return view_func(request, *view_args, **view_kwargs)
            AutosavedCreation.objects.filter(created_at__lt=timezone.now() - TWIN_WINDOW).delete()
            twin = (
                AutosavedCreation.objects.filter(parent=parent, user=request.user, slug=slug)
                .order_by("-created_at")
                .first()
            )
            if twin is not None and twin.by_autosave:
                # The page this form's autosave created: the post goes into it.
                edit = resolve(reverse(_EDIT, args=[twin.page_id]))
                return edit.func(request, *edit.args, **edit.kwargs)
            if twin is not None and autosave:
                # The save button created the page first and the browser is leaving the
                # form; this late autosave must not make a second page.
                return JsonResponse(
                    {
                        "success": False,
                        "error_code": "invalid_revision",
                        "error_message": _("Saving will overwrite a newer version."),
                    },
                    status=400,
                )
            last_child = parent.get_children().order_by("-pk").values_list("pk", flat=True).first()
            response = view_func(request, *view_args, **view_kwargs)
            created = (
                parent.get_children()
                .filter(pk__gt=last_child or 0, owner=request.user)
                .order_by("-pk")
                .values_list("pk", flat=True)
                .first()
            )
            if created is not None:
                AutosavedCreation.objects.create(
                    page_id=created,
                    parent=parent,
                    slug=slug,
                    user=request.user,
                    by_autosave=autosave,
                )
            return response
