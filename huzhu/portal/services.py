"""Writes of the portal: read counts, editorial groups and workflow, old-site imports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import escape
from wagtail.models import (
    GroupApprovalTask,
    GroupPagePermission,
    Page,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)
from wagtail.rich_text import RichText

from huzhu.audit.services import audit_record
from huzhu.organizations.models import Role

from .models import ArticlePage, PageReadCount, PortalSettings, SectionPage
from .oldsite import OldSitePage

EDITOR_GROUP = "编辑"
CHIEF_EDITOR_GROUP = "责任编辑"
WORKFLOW_NAME = "网站发布审核"
APPROVAL_TASK_NAME = "责任编辑审核发布"

# Page permissions (wagtailcore.*_page) of each editorial group on the portal's home page.
EDITOR_PAGE_PERMISSIONS = ("add_page", "change_page")
CHIEF_PAGE_PERMISSIONS = ("add_page", "change_page", "publish_page", "lock_page", "unlock_page")
ROLE_GROUPS = {Role.PORTAL_EDITOR: EDITOR_GROUP, Role.PORTAL_CHIEF_EDITOR: CHIEF_EDITOR_GROUP}


def article_read_count_increment(*, page) -> int:
    """Count one view of `page` and return the new 阅读量.

    One `UPDATE ... SET read_count = read_count + 1` in the database, then the value read
    back in the same transaction: concurrent views never lose an update (row lock on
    PostgreSQL, the database write lock on SQLite). The first view creates the row; a
    concurrent first view that loses the insert race falls back to the update.
    """
    with transaction.atomic():
        rows = PageReadCount.objects.filter(page_id=page.pk)
        if not rows.update(read_count=F("read_count") + 1):
            try:
                with transaction.atomic():
                    PageReadCount.objects.create(page_id=page.pk, read_count=1)
            except IntegrityError:
                rows.update(read_count=F("read_count") + 1)
        return rows.values_list("read_count", flat=True).get()


@dataclass(frozen=True)
class EditorialSetup:
    editor_group: Group
    chief_group: Group
    workflow: Workflow
    task: GroupApprovalTask


def _permissions(codenames, app_label="wagtailcore"):
    return list(
        Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )


@transaction.atomic
def portal_editorial_setup(*, root: Page) -> EditorialSetup:
    """Groups 编辑 / 责任编辑 and the workflow 网站发布审核 on `root` and its subtree. Idempotent.

    编辑 may add and edit pages and submit them for moderation, never publish; 责任编辑 may
    publish and is the only group that approves the workflow's task. Both may log in to the
    Wagtail admin (/cms/); 责任编辑 may also edit the portal's site settings.
    """
    access_admin = _permissions(["access_admin"], "wagtailadmin")
    editor_group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    chief_group, _ = Group.objects.get_or_create(name=CHIEF_EDITOR_GROUP)
    editor_group.permissions.add(*access_admin)
    chief_group.permissions.add(
        *access_admin,
        *_permissions(["change_portalsettings", "view_portalsettings"], "portal"),
    )
    # Images and documents used in articles: both groups may add and choose them.
    for group in (editor_group, chief_group):
        group.permissions.add(
            *_permissions(["add_image", "change_image", "choose_image"], "wagtailimages"),
            *_permissions(["add_document", "change_document", "choose_document"], "wagtaildocs"),
        )
    for group, codenames in (
        (editor_group, EDITOR_PAGE_PERMISSIONS),
        (chief_group, CHIEF_PAGE_PERMISSIONS),
    ):
        wanted = _permissions(codenames)
        GroupPagePermission.objects.filter(group=group, page=root).exclude(
            permission__in=wanted
        ).delete()
        for permission in wanted:
            GroupPagePermission.objects.get_or_create(group=group, page=root, permission=permission)

    task = GroupApprovalTask.objects.filter(name=APPROVAL_TASK_NAME).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=APPROVAL_TASK_NAME)
    task.groups.set([chief_group])
    workflow, _ = Workflow.objects.get_or_create(name=WORKFLOW_NAME)
    if not workflow.active:
        workflow.active = True
        workflow.save(update_fields=["active"])
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.update_or_create(page=root, defaults={"workflow": workflow})
    return EditorialSetup(editor_group, chief_group, workflow, task)


@transaction.atomic
def portal_groups_sync(*, user, acting_user=None) -> list[str]:
    """Put a portal editor / chief editor into the Wagtail group of their role (and only it)."""
    wanted = ROLE_GROUPS.get(user.role)
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLE_GROUPS.values())}
    before = sorted(
        user.groups.filter(name__in=ROLE_GROUPS.values()).values_list("name", flat=True)
    )
    for name, group in groups.items():
        if name == wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    after = sorted(user.groups.filter(name__in=ROLE_GROUPS.values()).values_list("name", flat=True))
    if before != after:
        audit_record(
            actor=acting_user,
            action="portal.groups_sync",
            obj=user,
            before={"groups": before},
            after={"groups": after},
            reason=f"role={user.role}",
        )
    return after


@transaction.atomic
def portal_settings_from_old_site(*, site, page: OldSitePage, acting_user=None) -> PortalSettings:
    """Footer values (版权所有, 工会地址, 联系电话, ICP 备案号, QR caption) from an old-site page."""
    settings = PortalSettings.for_site(site)
    wanted = {
        "copyright_holder": page.copyright_holder,
        "address": page.address,
        "phone": page.phone,
        "icp_number": page.icp_number,
    }
    if page.qr_caption:
        wanted["qr_caption"] = page.qr_caption
    before = {k: getattr(settings, k) for k in wanted}
    if before == wanted:
        return settings
    for key, value in wanted.items():
        setattr(settings, key, value)
    settings.save(update_fields=list(wanted))
    audit_record(
        actor=acting_user,
        action="portal.settings_from_old_site",
        obj=settings,
        before=before,
        after=wanted,
    )
    return settings


def _paragraph_html(paragraphs) -> list[str]:
    return [f"<p>{escape(text)}</p>" for text in paragraphs]


class OldSiteImportError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _section_for_path(home: Page, path: tuple[str, ...]) -> SectionPage:
    parent = home
    section = None
    for title in path:
        section = SectionPage.objects.child_of(parent).filter(title=title).first()
        if section is None:
            raise OldSiteImportError(
                "section_missing", f"栏目“{' > '.join(path)}”不存在（缺少“{title}”）"
            )
        parent = section
    if section is None:
        raise OldSiteImportError("section_missing", "旧网站页面没有栏目")
    return section


@transaction.atomic
def old_site_article_import(
    *, home: Page, page: OldSitePage, import_key: str, slug: str, acting_user=None
) -> tuple[ArticlePage, bool]:
    """Import (or bring up to date) an old-site article under its breadcrumb's section.

    Title, subtitle, source, every paragraph in order, the original publish time and the
    by-line names the source gives are kept. Returns (article, changed); running it again
    on the same text changes nothing.
    """
    section = _section_for_path(home, page.section_path)
    published_at = timezone.make_aware(page.published_at, timezone.get_default_timezone())
    wanted = {
        "title": page.title,
        "subtitle": page.subtitle,
        "source": page.source,
        "imported_editor_name": page.editor,
        "imported_chief_editor_name": page.chief_editor,
    }
    paragraphs = _paragraph_html(page.paragraphs)
    blocks = [("paragraph", RichText(html)) for html in paragraphs]
    article = ArticlePage.objects.filter(import_key=import_key).first()
    if article is None and Page.objects.child_of(section).filter(slug=slug).exists():
        raise OldSiteImportError(
            "slug_taken", f"栏目“{section.title}”下已有网址名为“{slug}”的页面，请换一个 --slug"
        )
    if article is None:
        article = ArticlePage(import_key=import_key, slug=slug, body=blocks, **wanted)
        article.first_published_at = published_at
        try:
            with transaction.atomic():
                section.add_child(instance=article)
        except ValidationError as e:
            problems = "；".join(f"{k}: {'、'.join(v)}" for k, v in e.message_dict.items())
            raise OldSiteImportError("page_invalid", f"页面无法保存：{problems}")
        created = True
    else:
        current = {k: getattr(article, k) for k in wanted}
        same_body = [(b.block_type, getattr(b.value, "source", None)) for b in article.body] == [
            ("paragraph", html) for html in paragraphs
        ]
        if (
            current == wanted
            and same_body
            and article.first_published_at == published_at
            and article.live
            and not article.has_unpublished_changes
        ):
            return article, False
        for key, value in wanted.items():
            setattr(article, key, value)
        article.body = blocks
        article.first_published_at = published_at
        created = False
    revision = article.save_revision(user=acting_user, log_action=True)
    revision.publish(user=acting_user)
    article.refresh_from_db()
    audit_record(
        actor=acting_user,
        action="portal.old_site_import",
        obj=article,
        after={"import_key": import_key, "title": page.title, "paragraphs": len(page.paragraphs)},
        reason="created" if created else "updated",
    )
    return article, True


def local_datetime(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value) if value else None
