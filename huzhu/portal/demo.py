"""Demo: the portal's page tree, the imported old-site article, notices, the service guide,
the footer settings and the editorial groups/workflow. Idempotent (run again: no change).

Runs after huzhu.organizations.demo, which creates the logins `editor` (portal_editor) and
`chief` (portal_chief_editor).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.html import escape
from wagtail.models import Page, Site, TaskState
from wagtail.rich_text import RichText

from huzhu.organizations.models import Role, User

from .models import ArticlePage, HomePage, PortalSettings, SectionPage, ServiceGuidePage
from .oldsite import old_site_page_parse
from .search import search_reindex_all
from .services import (
    old_site_article_import,
    portal_editorial_setup,
    portal_groups_sync,
    portal_settings_from_old_site,
)

SEED_DIR = Path(__file__).resolve().parent / "seed"
SPEECH_FILE = SEED_DIR / "leadership-speech-2019-10-25.txt"
SPEECH_KEY = "old-site:leadership-speech-2019-10-25"

# (title, slug, children) in menu order; children are (title, slug).
SECTIONS = [
    (
        "信息公开",
        "xxgk",
        [("领导讲话", "ldjh"), ("通知公告", "tzgg"), ("政策文件", "zcwj"), ("工作动态", "gzdt")],
    ),
    ("产业工会", "cygh", []),
    ("县(市、区)", "xsq", []),
]

NOTICES = [
    (
        "demo:notice:enrollment-2026",
        "enrollment-2026",
        "关于做好2026年度职工医疗互助保障参加工作的通知",
        [
            "各产业工会、乡镇(街道)总工会，各基层工会：",
            "2026年度职工医疗互助保障参加登记工作即日起开始。请各基层工会组织本单位职工自愿参加，"
            "通过平台上传参加名单并缴纳会费。",
            "本年度的会费标准、观察期和补助标准见本网站“医疗互助 办事指南”，以当年度方案为准。",
        ],
    ),
    (
        "demo:notice:auto-claim",
        "auto-claim",
        "职工住院医疗互助“免申即享”服务上线的公告",
        [
            "自本年度起，参加职工在本市医保定点医院住院的，平台根据医保结算数据自动计算互助补助，"
            "无需本人申请，补助直接发放到本人银行卡。",
            "异地就医等未能自动理赔的情形，可通过“医疗互助 在线申请 / 查询”在手机上提交，全程“跑零次”。",
        ],
    ),
    (
        "demo:notice:portal-online",
        "portal-online",
        "嵊州市总工会门户网站改版上线的公告",
        [
            "嵊州市总工会门户网站已完成改版，设信息公开、产业工会、县(市、区)等栏目，并提供站内搜索和通知公告订阅。",
        ],
    ),
]

# More real-looking items, so every section on the home page has something in it:
# (section, key, slug, title, paragraphs, attachment names).
ARTICLES = [
    (
        "政策文件",
        "demo:policy:rules-2026",
        "huzhu-banfa-2026",
        "嵊州市职工住院医疗互助保障办法（2026年修订）",
        [
            "第一条 为减轻职工因病住院的医疗费用负担，发扬互助共济精神，制定本办法。",
            "第二条 本市行政区域内依法建立工会组织的单位的在职职工，可以由所在工会统一办理参加手续。",
            "第三条 互助保障以年度为期，会费、观察期、补助标准按当年度互助方案执行，方案在本网站公布。",
        ],
        ["办法全文.pdf"],
    ),
    (
        "政策文件",
        "demo:policy:onestop",
        "onestop-jiesuan",
        "关于在定点医院开展职工医疗互助“一站式”结算的通知",
        [
            "自即日起，参加职工在嵊州市人民医院出院结算时，互助补助当场减免，由医院先行垫付，"
            "市总工会按月与医院结算。",
        ],
        [],
    ),
    (
        "工作动态",
        "demo:news:training",
        "jingbanren-peixun",
        "市总工会举办基层工会医疗互助经办人员业务培训",
        [
            "为做好年度参加登记和理赔服务，市总工会组织各基层工会经办人员开展业务培训，"
            "讲解名单导入、代为申请和银行卡补录等操作。",
        ],
        [],
    ),
    (
        "工作动态",
        "demo:news:auto-claims",
        "mianshen-jixiang-jinzhan",
        "“免申即享”上线以来已为职工自动理赔住院补助",
        [
            "医保结算数据按月导入后，符合条件的住院补助由系统自动计算并发放，职工无需申请、无需跑腿。",
        ],
        [],
    ),
    (
        "产业工会",
        "demo:industry:health",
        "weisheng-chanye-gonghui",
        "卫生系统产业工会组织职工参加医疗互助保障",
        ["卫生系统产业工会召开专题会议，部署本系统职工参加年度医疗互助保障工作。"],
        [],
    ),
    (
        "产业工会",
        "demo:industry:textile",
        "fangzhi-chanye-gonghui",
        "纺织服装产业工会走访企业宣传互助政策",
        ["纺织服装产业工会深入领带、服装企业，向一线职工宣传医疗互助政策和在线申请方式。"],
        [],
    ),
    (
        "县(市、区)",
        "demo:district:shanhu",
        "shanhu-jiedao",
        "剡湖街道总工会完成辖区企业职工参加登记",
        ["剡湖街道总工会组织辖区内基层工会完成职工参加登记，名单已全部通过平台导入。"],
        [],
    ),
    (
        "县(市、区)",
        "demo:district:ganlin",
        "ganlin-zhen",
        "甘霖镇总工会开展送政策进企业活动",
        ["甘霖镇总工会组织工作人员走进企业车间，现场讲解职工医疗互助保障和“跑零次”办理方式。"],
        [],
    ),
]
# Attachments of the notices (key -> file names); files are generated, see _document.
NOTICE_ATTACHMENTS = {"demo:notice:enrollment-2026": ["参加名单模板.xlsx", "参加登记说明.pdf"]}

GUIDE_INTRO = (
    "<p>嵊州市职工住院医疗互助保障由市总工会组织实施，职工自愿参加、互助共济。"
    "下表中的会费、观察期、起付线、分段比例、封顶线和一次性补助，均由系统按本年度互助方案自动生成，"
    "与实际补助的计算完全一致。</p>"
)


def _publish(page: Page, user=None) -> None:
    page.save_revision(user=user).publish(user=user)


def _home(stdout) -> tuple[HomePage, Site]:
    """The portal's HomePage as the default site's root, replacing Wagtail's welcome page."""
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()  # created by Wagtail's migrations
        home = HomePage(
            title="首页", slug="shengzhou", seo_title="嵊州市总工会", member_entry_url="/m/"
        )
        root.add_child(instance=home)
        _publish(home)
        stdout.write("门户: 已创建首页")
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        site = Site.objects.create(
            hostname="localhost",
            port=80,
            root_page=home,
            is_default_site=True,
            site_name=settings.WAGTAIL_SITE_NAME,
        )
    if site.root_page_id != home.pk:
        old_root = site.root_page
        site.root_page = home
        site.site_name = site.site_name or settings.WAGTAIL_SITE_NAME
        site.save()
        # Wagtail's own "Welcome to your new Wagtail site!" page is not ours: drop it.
        if (
            old_root.depth > 1
            and type(old_root.specific) is Page
            and not old_root.get_children().exists()
        ):
            old_root.delete()
    return home, site


def _section(parent: Page, title: str, slug: str) -> SectionPage:
    section = SectionPage.objects.child_of(parent).filter(slug=slug).first()
    if section is None:
        section = SectionPage(title=title, slug=slug, show_in_menus=parent.depth <= 2)
        parent.add_child(instance=section)
        _publish(section)
    return section


def _pdf(title: str) -> bytes:
    """A small, valid one-page PDF (the demo's stand-in for a scanned document)."""
    text = title.encode("ascii", "replace").decode()
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def _document(name: str):
    """The demo attachment called `name`, created once (Wagtail document library)."""
    from django.core.files.base import ContentFile
    from wagtail.documents.models import Document

    title = name.rsplit(".", 1)[0]
    document = Document.objects.filter(title=title).first()
    if document is None:
        if name.endswith(".xlsx"):
            from huzhu.enrollment.sheets import enrollment_template_xlsx

            data = enrollment_template_xlsx()
        else:
            data = _pdf(f"Shengzhou Federation of Trade Unions - demo document {len(title)}")
        document = Document(title=title)
        document.file.save(name, ContentFile(data), save=True)
    return document


def _attachments(names) -> list:
    return [("attachment", {"document": _document(n), "label": ""}) for n in names]


def _notice_through_workflow(
    section, editor, chief, workflow, key, slug, title, paragraphs, attachments=()
):
    """An editor writes and submits a notice; the chief editor approves and so publishes it."""
    if ArticlePage.objects.filter(import_key=key).exists():
        return False
    body = [("paragraph", RichText(f"<p>{escape(p)}</p>")) for p in paragraphs]
    notice = ArticlePage(
        title=title,
        slug=slug,
        body=body,
        source="嵊州市总工会",
        import_key=key,
        live=False,
        attachments=_attachments(attachments),
    )
    notice.owner = editor
    section.add_child(instance=notice)
    notice.save_revision(user=editor)
    state = workflow.start(notice, editor)
    task_state = TaskState.objects.get(pk=state.current_task_state_id)
    task_state.specific.approve(user=chief)
    return True


@transaction.atomic
def run(*, stdout) -> None:
    home, site = _home(stdout)

    sections = {}
    for title, slug, children in SECTIONS:
        section = _section(home, title, slug)
        sections[title] = section
        for child_title, child_slug in children:
            sections[child_title] = _section(section, child_title, child_slug)
    guide = ServiceGuidePage.objects.child_of(home).first()
    if guide is None:
        guide = ServiceGuidePage(
            title="医疗互助 办事指南", slug="bszn", show_in_menus=True, intro=GUIDE_INTRO
        )
        home.add_child(instance=guide)
        _publish(guide)
    notices = sections["通知公告"]
    if home.notices_section_id != notices.pk:
        home.notices_section = notices
        _publish(home)

    # Footer settings and the article, both from the old site's page.
    parsed = old_site_page_parse(SPEECH_FILE.read_text(encoding="utf-8"))
    portal = portal_settings_from_old_site(site=site, page=parsed)
    if not portal.qr_url:
        # The QR code points at this portal until the official account's URL is set in
        # 设置 › 网站设置 (it is generated per request from whatever URL is there).
        portal.qr_url = settings.WAGTAILADMIN_BASE_URL.rstrip("/") + "/"
        portal.save(update_fields=["qr_url"])
    article, changed = old_site_article_import(
        home=home, page=parsed, import_key=SPEECH_KEY, slug="2019-10-25-wangjuncan-dangke"
    )
    stdout.write(
        f"门户: 导入文章《{article.title}》（{len(parsed.paragraphs)}段）"
        + ("" if changed else "，无变化")
    )

    # Editorial groups and workflow; the demo editor and chief editor join their groups.
    setup = portal_editorial_setup(root=home)
    editor = User.objects.filter(role=Role.PORTAL_EDITOR).order_by("pk").first()
    chief = User.objects.filter(role=Role.PORTAL_CHIEF_EDITOR).order_by("pk").first()
    for user in User.objects.filter(role__in=[Role.PORTAL_EDITOR, Role.PORTAL_CHIEF_EDITOR]):
        portal_groups_sync(user=user)
    created = 0
    if editor and chief:
        for key, slug, title, paragraphs in NOTICES:
            created += _notice_through_workflow(
                notices,
                editor,
                chief,
                setup.workflow,
                key,
                slug,
                title,
                paragraphs,
                NOTICE_ATTACHMENTS.get(key, ()),
            )
        for section_title, key, slug, title, paragraphs, files in ARTICLES:
            created += _notice_through_workflow(
                sections[section_title],
                editor,
                chief,
                setup.workflow,
                key,
                slug,
                title,
                paragraphs,
                files,
            )
    indexed = search_reindex_all()
    stdout.write(
        f"门户: 栏目 {len(sections)} 个，新文章 {created} 篇，索引页面 {indexed} 个；"
        f"后台 /cms/（editor 编辑提交、chief 责任编辑审核发布）"
    )
    PortalSettings.for_site(site)  # make sure the settings row exists
