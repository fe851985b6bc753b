"""Site search that works for Chinese, the same way on SQLite and PostgreSQL.

SQLite FTS5 and PostgreSQL's `simple` configuration split text on spaces and punctuation, so a
run of Chinese characters becomes one token and a word inside it is never found
(pitfalls.md). Instead the portal keeps its own index (`SearchToken`): for every run of
Chinese characters its single characters and overlapping character pairs (bigrams), and for
every run of Latin letters or digits the lower-cased word. A query is cut the same way and a
page matches when it holds *every* query token: a query for 医疗互助 (医疗, 疗互, 互助) finds
each page whose text contains 医疗互助, whatever word segmentation would have made of it.

Only live pages are indexed: Wagtail's `page_published` re-indexes a page, `page_unpublished`
and deletion remove it (wired in apps.py). Writes happen in the publishing transaction.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Count

# CJK Unified Ideographs (+ extension A and compatibility ideographs).
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD_RE = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
MAX_QUERY_TOKENS = 64
TOKEN_MAX_LENGTH = 64


def _word_tokens(text: str) -> list[str]:
    import unicodedata

    out = []
    for word in _WORD_RE.findall(text):
        word = unicodedata.normalize("NFKC", word).lower()[:TOKEN_MAX_LENGTH]
        out.append(word)
    return out


def text_tokens(text: str) -> set[str]:
    """Index tokens of a text: CJK characters and bigrams, Latin/digit words."""
    tokens: set[str] = set()
    for run in _CJK_RUN_RE.findall(text):
        tokens.update(run)
        tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    tokens.update(_word_tokens(text))
    return tokens


def query_tokens(query: str) -> list[str]:
    """The tokens a page must all hold to match `query` (bigrams; a lone character as itself)."""
    tokens: list[str] = []
    for run in _CJK_RUN_RE.findall(query):
        if len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    tokens.extend(_word_tokens(query))
    return list(dict.fromkeys(tokens))[:MAX_QUERY_TOKENS]


def search_index_page(page) -> int:
    """(Re)index a live page that has `search_text()`; returns the number of tokens stored."""
    from .models import SearchToken

    specific = page.specific
    if not hasattr(specific, "search_text"):
        return 0
    tokens = text_tokens(specific.search_text()) if specific.live else set()
    with transaction.atomic():
        SearchToken.objects.filter(page_id=page.pk).delete()
        SearchToken.objects.bulk_create(
            [SearchToken(page_id=page.pk, token=t) for t in sorted(tokens)], batch_size=2000
        )
    return len(tokens)


def search_remove_page(page) -> None:
    from .models import SearchToken

    SearchToken.objects.filter(page_id=page.pk).delete()


def search_reindex_all() -> int:
    """Rebuild the whole index from the live pages; returns the number of pages indexed."""
    from wagtail.models import Page

    from .models import SearchToken

    count = 0
    with transaction.atomic():
        SearchToken.objects.all().delete()
        for page in Page.objects.live().specific():
            if hasattr(page, "search_text"):
                search_index_page(page)
                count += 1
    return count


def portal_search(query: str):
    """Live pages holding every token of `query`, newest first (a list of specific pages)."""
    from wagtail.models import Page

    from .models import SearchToken

    tokens = query_tokens(query)
    if not tokens:
        return []
    matching = (
        SearchToken.objects.filter(token__in=tokens)
        .values("page_id")
        .annotate(n=Count("token"))
        .filter(n=len(tokens))
        .values("page_id")
    )
    pages = (
        Page.objects.live()
        .public()
        .filter(pk__in=matching)
        .order_by("-first_published_at", "-pk")
        .specific()
    )
    return list(pages)


def search_excerpt(text: str, query: str, *, width: int = 60) -> str:
    """A short piece of `text` around the first occurrence of the query (or its start)."""
    flat = " ".join(text.split())
    position = flat.find(query.strip()) if query.strip() else -1
    if position < 0:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, position - width // 3)
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
