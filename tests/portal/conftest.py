"""Portal fixtures: the demo portal (page tree, imported article, notices, groups, workflow)."""

import io
import re

import pytest
from django.utils.html import strip_tags

SPEECH_URL = "/xxgk/ldjh/2019-10-25-wangjuncan-dangke/"


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
