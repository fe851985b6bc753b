"""RSS 2.0 and Atom feeds of a section (the home page links those of 通知公告)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed

FEED_ITEMS = 20


class SectionRssFeed(Feed):
    def __init__(self, section):
        super().__init__()
        self.section = section

    def get_object(self, request, *args, **kwargs):
        self.request = request
        return self.section

    def title(self, obj):
        from .models import PortalSettings

        site_name = PortalSettings.for_request(self.request).site_name
        return f"{site_name} · {obj.title}"

    def link(self, obj):
        return obj.get_url(self.request)

    def description(self, obj):
        return f"{obj.title}（最新{FEED_ITEMS}条）"

    def items(self, obj):
        from .selectors import section_articles

        return section_articles(section=obj)[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        from .search import search_excerpt

        return item.subtitle or search_excerpt(item.body_text(), "", width=120)

    def item_link(self, item):
        return item.get_url(self.request)

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        return item.last_published_at


class SectionAtomFeed(SectionRssFeed):
    feed_type = Atom1Feed

    def subtitle(self, obj):
        return self.description(obj)
