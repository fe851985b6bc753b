"""Keep the portal's search index in step with what is live (connected in apps.py)."""

from .search import search_index_page, search_remove_page


def on_page_published(sender, instance, **kwargs):
    search_index_page(instance)


def on_page_unpublished(sender, instance, **kwargs):
    search_remove_page(instance)
