"""huzhu portal-import FILE --slug SLUG: import a page of the old website (saved as text).

The article goes under the section its breadcrumb names (当前位置: 首页> 信息公开> 领导讲话),
keeping title, subtitle, publish time, source, every paragraph and the by-line names. Running
it again on the same file changes nothing. --footer also takes the footer (版权所有, 地址,
联系电话, ICP 备案号) into the site settings.

Exit codes: 0 imported (or unchanged), 1 the page is refused (the line and reason are
printed), 2 the file cannot be read or bad usage. The last line is the JSON summary.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from wagtail.models import Site

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.portal.models import HomePage
from huzhu.portal.oldsite import OldSitePageError, old_site_page_parse
from huzhu.portal.services import (
    OldSiteImportError,
    old_site_article_import,
    portal_settings_from_old_site,
)


class Command(HuzhuCommand):
    help = "导入旧网站的文章页面（文本）：按“当前位置”放入对应栏目，保留标题、日期、正文和编辑署名"

    def add_arguments(self, parser):
        parser.add_argument("file", help="旧网站页面的文本（UTF-8）")
        parser.add_argument("--slug", required=True, help="新页面的网址名（英文、数字、连字符）")
        parser.add_argument("--key", help="导入键（默认 old-site:<文件名>）：同一键再次导入只更新")
        parser.add_argument("--footer", action="store_true", help="同时把页脚写入网站设置")
        parser.add_argument("--by", metavar="USERNAME", help="操作人（员工账号）")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"无法读取文件 {path}：{e}")
        user = None
        if options["by"]:
            user = get_user_model().objects.filter(username=options["by"]).first()
            if user is None:
                raise UsageError(f"账号 {options['by']} 不存在")
        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        home = site.root_page.specific if site else None
        if not isinstance(home, HomePage):
            raise UsageError("门户首页不存在：请先运行 huzhu demo 或在 /cms/ 建立首页")
        key = options["key"] or f"old-site:{path.stem}"
        summary = {"command": "portal-import", "file": str(path), "key": key}
        try:
            page = old_site_page_parse(text)
            article, changed = old_site_article_import(
                home=home, page=page, import_key=key, slug=options["slug"], acting_user=user
            )
        except (OldSitePageError, OldSiteImportError) as e:
            self.stdout.write(f"{path}: {e.message}")
            self.write_summary({**summary, "ok": False, "error": e.code, "message": e.message})
            self.exit_refused()
            return
        if options["footer"]:
            portal_settings_from_old_site(site=site, page=page, acting_user=user)
        self.stdout.write(
            f"《{article.title}》{'已导入' if changed else '无变化'}：{article.url}"
            f"（{len(page.paragraphs)}段）"
        )
        self.write_summary(
            {
                **summary,
                "ok": True,
                "changed": changed,
                "page_id": article.pk,
                "url": article.url,
                "paragraphs": len(page.paragraphs),
                "footer": bool(options["footer"]),
            }
        )
