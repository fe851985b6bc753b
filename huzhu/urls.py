from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from huzhu.api.api import api
from huzhu.ops import views as ops_views
from huzhu.web.wechat_server import wechat_server

# One login page for every staff door: Wagtail's and Django admin's login pages send people to
# /staff/login/, so lockout, password rules and the second factor apply the same way.
_staff_login = RedirectView.as_view(url="/staff/login/", query_string=True)

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("cms/login/", _staff_login),
    path("django-admin/login/", _staff_login),
    path("staff/", include("huzhu.web.urls")),
    path("m/", include("huzhu.web.member.urls")),
    path("wechat/", wechat_server, name="wechat_server"),
    path("api/", api.urls),
    path("django-admin/", admin.site.urls),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# The public portal (Wagtail) serves everything else; keep it last.
urlpatterns.append(path("", include(wagtail_urls)))
