"""Reads of the portal: listings, by-lines from the workflow record, read counts, the guide."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page, PageLogEntry, TaskState, WorkflowState

from huzhu.core.money import format_fen
from huzhu.plans.rules.explain import BASE_LABELS, percent

from .models import (
    HOME_SECTION_ITEMS,
    ArticlePage,
    HomePage,
    PageReadCount,
    SectionPage,
    ServiceGuidePage,
)

# --- articles -------------------------------------------------------------------------


def section_articles(*, section: Page):
    """Live articles anywhere below `section`, newest first (publish time, then id)."""
    return (
        ArticlePage.objects.live()
        .public()
        .descendant_of(section)
        .order_by("-first_published_at", "-pk")
    )


def article_read_count(*, page) -> int:
    return (
        PageReadCount.objects.filter(page_id=page.pk).values_list("read_count", flat=True).first()
        or 0
    )


@dataclass(frozen=True)
class Bylines:
    editor: str  # 编辑: who submitted the published revision (or wrote it, when published directly)
    chief_editor: str  # 责任编辑: who approved and published it


def _display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()


def article_bylines(*, page) -> Bylines:
    """编辑 and 责任编辑 of the live version of an article, from Wagtail's own records.

    责任编辑 is the user whose approval published the live revision (the `wagtail.publish` log
    entry of that revision; with a workflow, the approver of its last task). 编辑 is the user who
    submitted that workflow; for a page published without a workflow, the author of the live
    revision. Articles imported from the old site carry the names their source gives.
    """
    if page.imported_editor_name or page.imported_chief_editor_name:
        return Bylines(page.imported_editor_name, page.imported_chief_editor_name)
    revision = page.live_revision
    if revision is None:
        return Bylines("", "")
    publish = (
        PageLogEntry.objects.filter(page_id=page.pk, action="wagtail.publish", revision=revision)
        .select_related("user")
        .order_by("-timestamp", "-pk")
        .first()
    )
    publisher = publish.user if publish else None
    editor = None
    states = WorkflowState.objects.for_instance(page).filter(status=WorkflowState.STATUS_APPROVED)
    if publish:
        states = states.filter(created_at__lte=publish.timestamp)
    workflow_state = states.select_related("requested_by").order_by("-created_at", "-pk").first()
    if workflow_state is not None:
        approval = (
            TaskState.objects.filter(
                workflow_state=workflow_state, status=TaskState.STATUS_APPROVED
            )
            .select_related("finished_by")
            .order_by("-finished_at", "-pk")
            .first()
        )
        if approval and (publisher is None or approval.finished_by_id == publisher.pk):
            editor = workflow_state.requested_by
            publisher = approval.finished_by
    if editor is None:
        editor = revision.user
    return Bylines(_display_name(editor), _display_name(publisher))


def breadcrumb(*, page: Page, include_self: bool = False) -> list[tuple[str, str]]:
    """[(label, url)] from 首页 down to the page's parent section, and the page itself when
    `include_self` (a section or the guide: where you are is part of 当前位置; an article's
    trail stops at its section, the title follows below it)."""
    out = []
    for ancestor in page.get_ancestors().filter(depth__gte=2).specific():
        label = _("首页") if isinstance(ancestor, HomePage) else ancestor.title
        out.append((label, ancestor.url))
    if include_self:
        out.append((page.title, page.url))
    return out


# --- attachments ------------------------------------------------------------------------

# File kinds as people name them, by extension (附件 on notices and policy articles).
FILE_KINDS = {
    "pdf": "PDF",
    "doc": "Word",
    "docx": "Word",
    "wps": "WPS 文字",
    "xls": "Excel",
    "xlsx": "Excel",
    "et": "WPS 表格",
    "ppt": "PowerPoint",
    "pptx": "PowerPoint",
    "ofd": "OFD",
    "zip": "压缩包",
    "rar": "压缩包",
    "txt": "文本",
}


@dataclass(frozen=True)
class Attachment:
    label: str
    url: str
    kind: str  # "PDF", "Word", "Excel"…
    size_bytes: int | None  # None when the file is missing from storage


def article_attachments(*, page) -> list[Attachment]:
    """The page's attachments with their kind and size, in the editor's order."""
    out = []
    for block in getattr(page, "attachments", None) or []:
        document = block.value.get("document")
        if document is None:
            continue
        ext = (document.file_extension or "").lower()
        try:
            size = document.get_file_size()
        except OSError:
            size = None
        out.append(
            Attachment(
                label=block.value.get("label") or document.title,
                url=document.url,
                kind=FILE_KINDS.get(ext, ext.upper() or "文件"),
                size_bytes=size,
            )
        )
    return out


# --- home -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionBlock:
    section: SectionPage
    articles: list


def home_blocks(*, home: HomePage, per_section: int = HOME_SECTION_ITEMS) -> dict:
    """What the home page shows: nav, notices, and the latest items of every section."""
    top = list(home.get_children().live().specific())
    nav = [p for p in top if isinstance(p, SectionPage | ServiceGuidePage)]
    guide = next((p for p in top if isinstance(p, ServiceGuidePage)), None)
    blocks, notices = [], None
    for section in (p for p in top if isinstance(p, SectionPage)):
        subsections = list(section.get_children().live().type(SectionPage).specific())
        for shown in subsections or [section]:
            block = SectionBlock(shown, list(section_articles(section=shown)[:per_section]))
            if notices is None and home.notices_section_id == shown.pk:
                notices = block
            else:
                blocks.append(block)
    return {"nav_pages": nav, "section_blocks": blocks, "notices": notices, "guide_page": guide}


def portal_home(*, site=None) -> HomePage | None:
    root = site.root_page if site is not None else None
    if root is not None and isinstance(root.specific, HomePage):
        return root.specific
    return HomePage.objects.live().first()


# --- 医疗互助 办事指南 ------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return f"{format_fen(fen)}元"


def _day(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _diagnoses(entries) -> str:
    """Codes with their Chinese disease names: a worker does not know a 诊断编码."""
    from huzhu.plans.rules.diseases import diagnosis_label

    return "、".join(diagnosis_label(e) for e in entries)


def current_plan(*, today: dt.date | None = None):
    """The current version of this scheme year's plan (a frozen `Plan`), or None if not loaded."""
    from huzhu.plans.selectors import plan_from_version, plan_version_current

    version = plan_version_current((today or timezone.localdate()).year)
    return plan_from_version(version) if version is not None else None


def service_guide_rows(plan, *, member_entry_url: str = "/m/") -> dict:
    """The guide's benefit table, every figure taken from `plan` (never typed by an editor).

    Returns {"plan": plan, "rows": [(item, text)], "bands": [(range, ratio)],
    "lump_sums": [(name, amount, condition, frequency)], "how_to_claim": [...],
    "zero_trip": [...]}.
    """
    inpatient = plan.inpatient
    rows = [
        (_("方案名称"), plan.name),
        (_("保障期间"), f"{_day(plan.period.start)}至{_day(plan.period.end)}"),
        (_("会费标准"), f"每人每年{_yuan(plan.fee_per_member_fen)}，由所在工会统一缴纳"),
        (
            _("观察期"),
            f"新参加的职工自入会登记之日起{plan.waiting_period_days}天为观察期，观察期内入院的不予补助；"
            "上一年度已参加、连续续保的职工没有观察期",
        ),
        (_("补助基数"), f"{inpatient.name}以每次住院的{BASE_LABELS[inpatient.base]}部分为基数"),
    ]
    if inpatient.deductible is None:
        rows.append((_("起付线"), _("不设起付线")))
    elif inpatient.deductible_per_stay:
        rows.append((_("起付线"), f"每次住院{_yuan(inpatient.deductible_fen)}"))
    else:
        rows.append((_("起付线"), f"每年度累计{_yuan(inpatient.deductible_fen)}（全年只扣一次）"))
    cap = inpatient.cap_fen
    rows.append(
        (
            _("封顶线"),
            f"{inpatient.name}每人每年度最高{_yuan(cap)}" if cap is not None else _("不设封顶线"),
        )
    )
    rows.append((_("申请时限"), f"手工申请须在出院之日起{plan.claim_window_days}天内提出"))

    bands = []
    for lower, upper, ratio_units in inpatient.bands():
        if upper is None:
            label = f"超过{_yuan(lower)}的部分" if lower else _("起付线以上全部")
        elif lower == 0:
            label = f"{_yuan(upper)}以内（含）的部分"
        else:
            label = f"{_yuan(lower)}以上至{_yuan(upper)}（含）的部分"
        bands.append((label, percent(ratio_units)))

    lump_sums = []
    for benefit in plan.lump_sums:
        who = {"female": "女职工", "male": "男职工"}.get(benefit.sex or "", "参加职工")
        condition = f"{who}经诊断为以下疾病（ICD-10 编码）：{_diagnoses(benefit.diagnoses)}"
        frequency = "每年度一次" if benefit.once_per == "year" else "终身一次"
        lump_sums.append((benefit.name, _yuan(benefit.lump_sum_fen), condition, frequency))

    how_to_claim = [
        "免申即享：医保局的结算数据导入后自动与参加名单比对，符合条件的住院无需申请，补助直接发放到本人银行卡。",
        f"在线申请：未自动理赔的（如异地就医），可在手机上进入“医疗互助 在线申请 / 查询”（{member_entry_url}），"
        f"上传出院记录和发票照片，出院后{plan.claim_window_days}天内提交。",
        "工会代办：也可由所在基层工会经办人代为在线提交。",
        "进度查询：提交后可随时在线查看审核和发放进度。",
    ]
    zero_trip = [
        "“跑零次”：参加由所在工会统一办理，理赔和查询全部在线完成，职工不必到任何窗口、不必递交纸质材料。",
        "补助金额由系统按本年度方案自动计算，与上表完全一致；每一笔都可在线查看计算明细"
        "（起付线、各分段金额、封顶）。",
    ]
    return {
        "plan": plan,
        "rows": rows,
        "bands": bands,
        "cap": _yuan(cap) if cap is not None else "",
        "lump_sums": lump_sums,
        "how_to_claim": how_to_claim,
        "zero_trip": zero_trip,
        "member_entry_url": member_entry_url,
    }


def service_guide(*, member_entry_url: str = "/m/") -> dict:
    plan = current_plan()
    if plan is None:
        return {"plan": None, "member_entry_url": member_entry_url}
    return service_guide_rows(plan, member_entry_url=member_entry_url)
