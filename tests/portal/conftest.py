"""Portal fixtures: the demo portal (page tree, imported article, notices, groups, workflow)."""

import io
import re

import pytest
from django.utils.html import strip_tags

SPEECH_URL = "/xxgk/ldjh/2019-10-25-wangjuncan-dangke/"


def ensure_wagtail_base_data() -> None:
    """Recreate what Wagtail's migrations put in the database (default locale, root page).

    Transactional tests (live server, threads) run on a database that an earlier
    transactional test may have flushed.
    """
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Collection, Locale, Page

    if Collection.get_first_root_node() is None:  # documents (附件) live in a collection
        Collection.add_root(name="Root")
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root"))


def build_demo_portal():
    from huzhu.organizations import demo as organizations_demo
    from huzhu.portal import demo as portal_demo
    from huzhu.portal.models import HomePage

    ensure_wagtail_base_data()
    out = io.StringIO()
    organizations_demo.run(stdout=out)
    portal_demo.run(stdout=out)
    return HomePage.objects.get()


@pytest.fixture
def portal(db):
    """The portal as `huzhu demo` builds it (the organizations step first: logins)."""
    from huzhu.organizations import demo as organizations_demo
    from huzhu.portal import demo as portal_demo
    from huzhu.portal.models import HomePage

    out = io.StringIO()
    organizations_demo.run(stdout=out)
    portal_demo.run(stdout=out)
    return HomePage.objects.get()


@pytest.fixture
def speech(portal):
    from huzhu.portal.demo import SPEECH_KEY
    from huzhu.portal.models import ArticlePage

    return ArticlePage.objects.get(import_key=SPEECH_KEY)


def page_text(response) -> str:
    """The visible text of a page, whitespace collapsed (SVG dropped)."""
    html = response.content.decode()
    html = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    html = re.sub(r"<(script|style|head).*?</\1>", "", html, flags=re.S)
    return " ".join(strip_tags(html).replace("&gt;", ">").split())
