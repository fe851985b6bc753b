"""The public portal (门户网站): Wagtail page types, site settings and two support tables.

Page tree (built by `huzhu demo`, editable in /cms/):

    HomePage 首页 (site root; routes /search/)
      SectionPage 信息公开 ─ SectionPage 领导讲话 / 通知公告 / 政策文件 / 工作动态 ─ ArticlePage
      SectionPage 产业工会 ─ ArticlePage
      SectionPage 县(市、区) ─ ArticlePage
      ServiceGuidePage 医疗互助 办事指南 (benefit table generated from the current plan)
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db import models
from django.utils.functional import cached_property
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageBlock
from wagtail.models import Page

LISTING_PAGE_SIZE = 15
HOME_SECTION_ITEMS = 6


class PortalPageForm(WagtailAdminPageForm):
    """Pages of a section often share a title (two notices both called 关于开展职工医疗互助
    工作的通知): the web address (slug) Wagtail derives from the title is then made unique
    among the siblings (…-2, …-3) instead of refusing the second page."""

    def clean(self):
        slug = self.cleaned_data.get("slug")
        if slug and self.parent_page is not None:
            self.cleaned_data["slug"] = unique_child_slug(
                slug, parent=self.parent_page, page=self.instance
            )
        return super().clean()


def unique_child_slug(slug: str, *, parent: Page, page: Page | None = None) -> str:
    """`slug`, or `slug-2`, `slug-3`… : the first free among `parent`'s children."""
    candidate, n = slug, 2
    while not Page._slug_is_available(candidate, parent, page):
        candidate = f"{slug[: 255 - len(str(n)) - 1]}-{n}"
        n += 1
    return candidate


class ArticleBodyBlock(blocks.StreamBlock):
    paragraph = blocks.RichTextBlock(label=_("段落"))
    heading = blocks.CharBlock(label=_("小标题"), form_classname="title")
    image = ImageBlock(label=_("图片"))

    class Meta:
        label = _("正文")


@register_setting(icon="site")
class PortalSettings(BaseSiteSetting):
    """Footer and header values of the portal, one set per Wagtail site (设置 › 网站设置)."""

    site_name = models.CharField(_("网站名称"), max_length=64, default="嵊州市总工会")
    copyright_holder = models.CharField(_("版权所有"), max_length=128, blank=True)
    address = models.CharField(_("工会地址"), max_length=255, blank=True)
    phone = models.CharField(_("联系电话"), max_length=64, blank=True)
    icp_number = models.CharField(_("ICP 备案号"), max_length=64, blank=True)
    qr_url = models.URLField(
        _("官方公众号二维码链接"),
        blank=True,
        help_text=_("二维码按此链接在每次访问时生成，不保存图片。"),
    )
    qr_caption = models.CharField(
        _("二维码说明"), max_length=64, blank=True, default="嵊州市总工会官方二维码"
    )

    panels = [
        FieldPanel("site_name"),
        MultiFieldPanel(
            [
                FieldPanel("copyright_holder"),
                FieldPanel("address"),
                FieldPanel("phone"),
                FieldPanel("icp_number"),
            ],
            heading=_("页脚"),
        ),
        MultiFieldPanel([FieldPanel("qr_url"), FieldPanel("qr_caption")], heading=_("二维码")),
    ]

    class Meta:
        verbose_name = _("网站设置")
        verbose_name_plural = _("网站设置")


class HomePage(RoutablePageMixin, Page):
    """The site root: latest items of each section, notices, member entry and QR code."""

    intro = models.CharField(_("简介"), max_length=255, blank=True)
    member_entry_url = models.CharField(
        _("医疗互助在线申请/查询入口"),
        max_length=255,
        default="/m/",
        help_text=_("会员页面的地址"),
    )

    notices_section = models.ForeignKey(
        "portal.SectionPage",
        verbose_name=_("通知公告栏目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("首页“通知公告”一栏及其 RSS/Atom 订阅取自此栏目"),
    )

    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        FieldPanel("member_entry_url"),
        FieldPanel("notices_section"),
    ]
    subpage_types = ["portal.SectionPage", "portal.ServiceGuidePage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    class Meta:
        verbose_name = _("首页")
        verbose_name_plural = _("首页")

    def get_context(self, request, *args, **kwargs):
        from .selectors import home_blocks

        context = super().get_context(request, *args, **kwargs)
        context.update(home_blocks(home=self))
        return context

    @path("search/")
    def search(self, request):
        from .search import portal_search

        query = request.GET.get("q", "").strip()
        results = portal_search(query) if query else []
        page_obj = Paginator(results, LISTING_PAGE_SIZE).get_page(request.GET.get("page"))
        return self.render(
            request,
            template="portal/search.html",
            context_overrides={"query": query, "page_obj": page_obj, "results": page_obj},
        )


class SectionPage(RoutablePageMixin, Page):
    """A section (栏目): lists the articles below it, newest first, with pagination and feeds."""

    intro = RichTextField(_("栏目简介"), blank=True, features=["bold", "link"])

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["portal.SectionPage", "portal.ArticlePage"]
    parent_page_types = ["portal.HomePage", "portal.SectionPage"]

    base_form_class = PortalPageForm

    class Meta:
        verbose_name = _("栏目")
        verbose_name_plural = _("栏目")

    def get_context(self, request, *args, **kwargs):
        from .selectors import breadcrumb, section_articles

        context = super().get_context(request, *args, **kwargs)
        context["breadcrumb"] = breadcrumb(page=self, include_self=True)
        page_obj = Paginator(section_articles(section=self), LISTING_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        context.update(
            {
                "page_obj": page_obj,
                "articles": page_obj,
                "subsections": self.get_children().live().type(SectionPage).specific(),
            }
        )
        return context

    @path("")
    def listing(self, request):
        return self.render(request)

    @path("rss/")
    def rss(self, request):
        from .feeds import SectionRssFeed

        return SectionRssFeed(self)(request)

    @path("atom/")
    def atom(self, request):
        from .feeds import SectionAtomFeed

        return SectionAtomFeed(self)(request)


class AttachmentBlock(blocks.StructBlock):
    """附件: a file from the document library (PDF, Word, Excel…) with an optional label."""

    document = DocumentChooserBlock(label=_("文件"))
    label = blocks.CharBlock(label=_("显示名称"), required=False, help_text=_("不填则用文件标题"))

    class Meta:
        label = _("附件")
        icon = "doc-full"


class ArticlePage(Page):
    """An article (文章): news, notice, policy document or speech."""

    subtitle = models.CharField(_("副标题"), max_length=255, blank=True)
    source = models.CharField(_("来源"), max_length=128, blank=True)
    body = StreamField(ArticleBodyBlock(), verbose_name=_("正文"))
    attachments = StreamField(
        [("attachment", AttachmentBlock())],
        blank=True,
        verbose_name=_("附件"),
        help_text=_("通知、政策文件的附件（PDF、Word、Excel 等），页面上显示文件类型和大小"),
    )
    # Set only by importers of old-site articles: the names their source gives. Pages written
    # here take 编辑/责任编辑 from the workflow record instead (selectors.article_bylines).
    imported_editor_name = models.CharField(
        _("编辑（导入）"), max_length=64, blank=True, editable=False
    )
    imported_chief_editor_name = models.CharField(
        _("责任编辑（导入）"), max_length=64, blank=True, editable=False
    )
    import_key = models.CharField(max_length=128, blank=True, db_index=True, editable=False)

    content_panels = Page.content_panels + [
        FieldPanel("subtitle"),
        FieldPanel("source"),
        FieldPanel("body"),
        FieldPanel("attachments"),
    ]
    parent_page_types = ["portal.SectionPage"]
    subpage_types: list[str] = []
    base_form_class = PortalPageForm

    class Meta:
        verbose_name = _("文章")
        verbose_name_plural = _("文章")

    def body_text(self) -> str:
        """The body as plain text, paragraphs separated by newlines."""
        parts = []
        for block in self.body:
            if block.block_type == "paragraph":
                parts.append(strip_tags(block.value.source))
            elif block.block_type == "heading":
                parts.append(str(block.value))
        return "\n".join(p.strip() for p in parts if p.strip())

    def search_text(self) -> str:
        return "\n".join([self.title, self.subtitle, self.source, self.body_text()])

    @cached_property
    def bylines(self):
        from .selectors import article_bylines

        return article_bylines(page=self)

    def serve(self, request, *args, **kwargs):
        # Count real views only: not previews, not HEAD requests.
        if request.method == "GET" and not getattr(request, "is_preview", False):
            from .services import article_read_count_increment

            request.portal_read_count = article_read_count_increment(page=self)
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        from .selectors import article_attachments, article_read_count, breadcrumb

        context = super().get_context(request, *args, **kwargs)
        context["attachments"] = article_attachments(page=self)
        count = getattr(request, "portal_read_count", None)
        context["read_count"] = count if count is not None else article_read_count(page=self)
        context["breadcrumb"] = breadcrumb(page=self)
        return context


class ServiceGuidePage(Page):
    """医疗互助 办事指南: editable text around a benefit table generated from the current plan."""

    intro = RichTextField(_("导语"), blank=True)
    closing = RichTextField(_("补充说明"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("closing")]
    parent_page_types = ["portal.HomePage", "portal.SectionPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("办事指南")
        verbose_name_plural = _("办事指南")

    def search_text(self) -> str:
        return "\n".join([self.title, strip_tags(self.intro), strip_tags(self.closing)])

    def get_context(self, request, *args, **kwargs):
        from .selectors import breadcrumb, service_guide

        context = super().get_context(request, *args, **kwargs)
        home = self.get_ancestors().type(HomePage).specific().last()
        entry = home.member_entry_url if home else "/m/"
        context["guide"] = service_guide(member_entry_url=entry)
        context["breadcrumb"] = breadcrumb(page=self, include_self=True)
        return context


class PageReadCount(models.Model):
    """阅读量: one row per page, incremented in the database (services.article_read_count_increment).

    Kept outside the page table so that publishing a revision, which saves every page field,
    can never write back a stale count.
    """

    page = models.OneToOneField(
        Page, primary_key=True, on_delete=models.CASCADE, related_name="portal_read_count"
    )
    read_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("阅读量")
        verbose_name_plural = _("阅读量")


class SearchToken(models.Model):
    """The portal's own search index: one row per (live page, token); see search.py."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="portal_search_tokens")
    token = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "token"], name="portal_token_uniq")]
        indexes = [models.Index(fields=["token", "page"], name="portal_token_page_idx")]


class AutosavedCreation(models.Model):
    """A page just created from the admin's "new page" form, kept for half a minute
    (Wagtail 8 autosaves a page being created). A "save" click sent from the same form
    before the autosave's answer reached the browser still posts to the "new page" address:
    `huzhu.portal.middleware.PageCreateRaceMiddleware` finds the page the autosave made
    here and saves the click into it, instead of creating a second page (or, as Wagtail
    does alone, answering 500 when the slug it checked a moment ago has just been taken)."""

    page = models.OneToOneField(Page, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    by_autosave = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["parent", "user", "slug"])]
