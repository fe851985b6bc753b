from django import template
from wagtail.models import Site

from ..models import HomePage, PortalSettings, SectionPage, ServiceGuidePage
from ..qr import qr_svg

register = template.Library()


def _home(request):
    site = Site.find_for_request(request) if request is not None else None
    root = site.root_page.specific if site is not None else None
    return root if isinstance(root, HomePage) else None


@register.inclusion_tag("portal/_nav.html", takes_context=True)
def portal_nav(context):
    request = context.get("request")
    home = _home(request)
    items = []
    if home is not None:
        items = [
            p
            for p in home.get_children().live().in_menu().specific()
            if isinstance(p, SectionPage | ServiceGuidePage)
        ]
    current = context.get("page")
    current_path = getattr(current, "path", "")
    return {
        "home": home,
        "items": items,
        "current_path": current_path,
        "member_entry_url": home.member_entry_url if home else "/m/",
        "request": request,
    }


@register.simple_tag(takes_context=True)
def portal_qr(context):
    """The official-account QR code as inline SVG, generated from the site setting's URL."""
    request = context.get("request")
    settings = PortalSettings.for_request(request)
    return qr_svg(settings.qr_url, label=settings.qr_caption)


@register.filter
def is_within(page_path: str, other_path: str) -> bool:
    return bool(page_path and other_path and page_path.startswith(other_path))
