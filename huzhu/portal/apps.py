from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "huzhu.portal"
    label = "portal"
    verbose_name = "门户网站"

    def ready(self):
        from wagtail.signals import page_published, page_unpublished

        from . import signals

        page_published.connect(signals.on_page_published, dispatch_uid="portal-search-publish")
        page_unpublished.connect(
            signals.on_page_unpublished, dispatch_uid="portal-search-unpublish"
        )
