from django.urls import path

from . import claim_views, views, wechat_views

app_name = "member"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("bind/", views.bind_view, name="bind"),
    path("logout/", views.logout_view, name="logout"),
    path("coverage/", views.coverage_view, name="coverage"),
    path("consent/", views.consent_view, name="consent"),
    path("bank-card/", views.bank_card_view, name="bank_card"),
    path("claims/", claim_views.claim_list, name="claim_list"),
    path("claims/new/", claim_views.claim_new, name="claim_new"),
    path("claims/scan-invoice/", claim_views.invoice_scan, name="invoice_scan"),
    path("claims/<int:pk>/", claim_views.claim_detail, name="claim_detail"),
    path("claims/<int:pk>/correct/", claim_views.claim_correct, name="claim_correct"),
    path("documents/<int:pk>/", claim_views.document_view, name="document"),
    path("wechat/", wechat_views.wechat_entry, name="wechat"),
    path("wechat/callback/", wechat_views.wechat_callback, name="wechat_callback"),
    path("wechat/unbind/", wechat_views.wechat_unbind_view, name="wechat_unbind"),
]
