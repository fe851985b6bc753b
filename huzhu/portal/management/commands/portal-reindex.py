"""huzhu portal-reindex: rebuild the portal's Chinese search index from the live pages.

Publishing keeps the index up to date by itself; this is for repairs (e.g. after restoring a
database dump). Exit code 0; the last line is the JSON summary.
"""

from huzhu.core.commands import HuzhuCommand
from huzhu.portal.models import SearchToken
from huzhu.portal.search import search_reindex_all


class Command(HuzhuCommand):
    help = "重建门户网站的站内搜索索引（中文）"

    def handle(self, *args, **options):
        pages = search_reindex_all()
        tokens = SearchToken.objects.count()
        self.stdout.write(f"已索引 {pages} 个页面，{tokens} 个词元")
        self.write_summary({"command": "portal-reindex", "pages": pages, "tokens": tokens})
