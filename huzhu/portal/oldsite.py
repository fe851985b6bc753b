"""Reading a page of the federation's old website, saved as text, into its parts.

The old site prints every page the same way: the site name and top links, the breadcrumb
(`当前位置: 首页> 信息公开> 领导讲话`), the title, an optional subtitle, the date line
(`发布日期:2019-10-25 17:09:02    来源:...`), the read-count line, the body paragraphs, the
by-line (`编辑:...   责任编辑:...`), the QR caption and the footer (版权所有, 工会地址 and
联系电话, ICP record). `old_site_page_parse(text)` returns those parts or raises
`OldSitePageError` naming the line and what was expected there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

_BREADCRUMB_RE = re.compile(r"^当前位置[:：]\s*(?P<trail>.+)$")
_DATE_RE = re.compile(
    r"^发布日期[:：]\s*(?P<date>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*(?:来源[:：]\s*(?P<source>.*))?$"
)
_READS_RE = re.compile(r"^阅读量[:：]\s*(?P<count>\d*)\s*$")
_BYLINE_RE = re.compile(r"^编辑[:：]\s*(?P<editor>\S*)\s+责任编辑[:：]\s*(?P<chief>\S*)\s*$")
_COPYRIGHT_RE = re.compile(r"^版权所有[:：]\s*(?P<holder>.+)$")
_ADDRESS_RE = re.compile(
    r"^(?:工会)?地址[:：]\s*(?P<address>.+?)\s+联系电话[:：]\s*(?P<phone>[\d\-]+)\s*$"
)
_ICP_RE = re.compile(r"^.{0,2}ICP备\S+号.*$")


class OldSitePageError(ValueError):
    code = "old_site_page_invalid"

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = f"第{line}行：{message}" if line else message
        super().__init__(self.message)


@dataclass(frozen=True)
class OldSitePage:
    site_name: str
    nav: tuple[str, ...]
    breadcrumb: tuple[str, ...]  # ("首页", "信息公开", "领导讲话")
    title: str
    subtitle: str
    published_at: dt.datetime  # naive, in the site's local time (Asia/Shanghai)
    source: str
    paragraphs: tuple[str, ...]
    editor: str
    chief_editor: str
    qr_caption: str
    copyright_holder: str
    address: str
    phone: str
    icp_number: str
    extra: dict = field(default_factory=dict)

    @property
    def section_path(self) -> tuple[str, ...]:
        """The sections under 首页, e.g. ("信息公开", "领导讲话")."""
        return self.breadcrumb[1:]


def old_site_page_parse(text: str) -> OldSitePage:
    """Split the text of an old-site article page into its parts (see module docstring)."""
    lines = [
        (number, raw.strip())
        for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1)
        if raw.strip()
    ]
    if not lines:
        raise OldSitePageError(None, "文件为空")

    def find(pattern: re.Pattern, what: str, start: int = 0) -> int:
        for i in range(start, len(lines)):
            if pattern.match(lines[i][1]):
                return i
        raise OldSitePageError(None, f"找不到{what}")

    crumb_i = find(_BREADCRUMB_RE, "“当前位置”一行")
    site_name, *nav = [line for _, line in lines[:crumb_i]] or [""]
    trail = _BREADCRUMB_RE.match(lines[crumb_i][1]).group("trail")
    breadcrumb = tuple(part.strip() for part in re.split(r"[>＞]", trail) if part.strip())
    if len(breadcrumb) < 2 or breadcrumb[0] != "首页":
        raise OldSitePageError(lines[crumb_i][0], "当前位置应以“首页”开头并至少含一个栏目")

    date_i = find(_DATE_RE, "“发布日期”一行", crumb_i + 1)
    heading = [line for _, line in lines[crumb_i + 1 : date_i]]
    if not heading:
        raise OldSitePageError(lines[date_i][0], "“发布日期”之前缺少标题")
    if len(heading) > 2:
        raise OldSitePageError(lines[crumb_i + 3][0], "标题与副标题之后、发布日期之前有多余的行")
    title = heading[0]
    subtitle = heading[1] if len(heading) == 2 else ""
    m = _DATE_RE.match(lines[date_i][1])
    published_at = dt.datetime.strptime(m.group("date"), "%Y-%m-%d %H:%M:%S")
    source = (m.group("source") or "").strip()

    body_start = date_i + 1
    if body_start < len(lines) and _READS_RE.match(lines[body_start][1]):
        body_start += 1
    byline_i = find(_BYLINE_RE, "“编辑/责任编辑”一行", body_start)
    paragraphs = tuple(line for _, line in lines[body_start:byline_i])
    if not paragraphs:
        raise OldSitePageError(lines[byline_i][0], "正文为空")
    m = _BYLINE_RE.match(lines[byline_i][1])
    editor, chief = m.group("editor"), m.group("chief")

    footer = lines[byline_i + 1 :]
    copyright_i = find(_COPYRIGHT_RE, "“版权所有”一行", byline_i + 1)
    qr_caption = next((line for _, line in footer if "二维码" in line), "")
    holder = _COPYRIGHT_RE.match(lines[copyright_i][1]).group("holder").strip()
    address_i = find(_ADDRESS_RE, "“地址 … 联系电话”一行", copyright_i + 1)
    m = _ADDRESS_RE.match(lines[address_i][1])
    icp_i = find(_ICP_RE, "ICP 备案号一行", copyright_i + 1)
    return OldSitePage(
        site_name=site_name,
        nav=tuple(nav),
        breadcrumb=breadcrumb,
        title=title,
        subtitle=subtitle,
        published_at=published_at,
        source=source,
        paragraphs=paragraphs,
        editor=editor,
        chief_editor=chief,
        qr_caption=qr_caption,
        copyright_holder=holder,
        address=m.group("address").strip(),
        phone=m.group("phone").strip(),
        icp_number=lines[icp_i][1],
    )
