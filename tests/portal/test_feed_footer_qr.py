"""Notices feed (RSS and Atom), footer from site settings, QR generated from the setting's URL."""

import re
import xml.etree.ElementTree as ET

import qrcode
from wagtail.models import Site

from huzhu.portal.models import ArticlePage, PortalSettings
from huzhu.portal.qr import qr_svg
from tests.portal.conftest import SPEECH_URL, page_text

ATOM = "{http://www.w3.org/2005/Atom}"


def _notices_newest_first():
    return list(
        ArticlePage.objects.live()
        .filter(url_path__contains="/tzgg/")
        .order_by("-first_published_at", "-pk")
        .values_list("title", flat=True)
    )


def test_rss_feed_lists_the_notices_newest_first(client, portal):
    response = client.get("/xxgk/tzgg/rss/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    assert channel.findtext("title") == "嵊州市总工会 · 通知公告"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == _notices_newest_first()
    assert len(items) == 3
    assert all(i.findtext("link").startswith("http://testserver/xxgk/tzgg/") for i in items)
    assert all(i.findtext("pubDate") for i in items)


def test_atom_feed_lists_the_same_notices(client, portal):
    response = client.get("/xxgk/tzgg/atom/")
    assert response.status_code == 200
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles == _notices_newest_first()
    # the home page advertises the notices feeds
    html = client.get("/").content.decode()
    assert 'type="application/rss+xml"' in html and 'href="/xxgk/tzgg/rss/"' in html


def test_footer_comes_from_site_settings(client, portal):
    settings = PortalSettings.for_site(Site.objects.get(is_default_site=True))
    settings.copyright_holder = "某市总工会"
    settings.address = "某市人民路1号"
    settings.phone = "0575-12345678"
    settings.icp_number = "浙ICP备00000001号"
    settings.save()
    text = page_text(client.get("/"))
    assert "版权所有:某市总工会" in text
    assert "工会地址:某市人民路1号 联系电话:0575-12345678" in text
    assert "浙ICP备00000001号" in text
    assert "嵊州市领带园一路401号" not in text


def _svg_modules(svg: str) -> set[tuple[int, int]]:
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", svg)}


def _expected_modules(data: str) -> set[tuple[int, int]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(data)
    qr.make(fit=True)
    return {(x, y) for y, row in enumerate(qr.get_matrix()) for x, dark in enumerate(row) if dark}


def test_qr_code_is_generated_from_the_setting_url_on_each_request(client, portal):
    settings = PortalSettings.for_site(Site.objects.get(is_default_site=True))
    for url in ("https://mp.weixin.qq.com/s/first", "https://example.org/union-account"):
        settings.qr_url = url
        settings.save()
        html = client.get(SPEECH_URL).content.decode()
        svg = re.search(r'<svg class="qr".*?</svg>', html, flags=re.S).group(0)
        assert f'aria-label="{settings.qr_caption}"' in svg
        # the dark modules drawn are exactly those of a QR code of the URL
        assert _svg_modules(svg) == _expected_modules(url)
    assert "<img" not in html


def test_qr_svg_of_nothing_is_empty():
    assert qr_svg("") == ""
