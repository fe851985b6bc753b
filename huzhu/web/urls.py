from django.contrib.auth import views as auth_views
from django.urls import path

from .views import (
    accounts,
    audit,
    consent,
    dashboard,
    enrollment,
    fees,
    members,
    ops,
    plans,
    unions,
)
from .views import claims as claim_pages
from .views import login as login_views
from .views import payments as payment_views
from .views import reports as report_views
from .views import review as claim_review
from .views import settlements as settlement_views

app_name = "web"

urlpatterns = [
    path("login/", login_views.StaffLoginView.as_view(), name="login"),
    path("login/otp/", login_views.otp_verify, name="otp_verify"),
    path("login/otp/setup/", login_views.otp_setup, name="otp_setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", dashboard.dashboard, name="dashboard"),
    path("ops/", ops.ops_status, name="ops"),
    path("ops/jobs/<str:name>/run/", ops.ops_job_run, name="ops_job_run"),
    path("accounts/", accounts.account_list, name="account_list"),
    path("accounts/new/", accounts.account_create, name="account_create"),
    path("accounts/<int:pk>/", accounts.account_edit, name="account_edit"),
    path(
        "accounts/<int:pk>/password/",
        accounts.account_password_reset,
        name="account_password_reset",
    ),
    path(
        "accounts/<int:pk>/second-factor/",
        accounts.account_second_factor_reset,
        name="account_second_factor_reset",
    ),
    path("accounts/<int:pk>/unlock/", accounts.account_unlock, name="account_unlock"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("consent/", consent.consent_text_view, name="consent_text"),
    path("audit/export/", audit.audit_export, name="audit_export"),
    path("security/second-factor/", login_views.otp_setup, name="otp_setup_optional"),
    path("security/password/", login_views.PasswordChangeView.as_view(), name="password_change"),
    path("unions/", unions.union_tree, name="union_tree"),
    path("members/", members.member_list_view, name="member_list"),
    path("members/<int:pk>/", members.member_detail, name="member_detail"),
    path("members/bank-cards/", members.member_card_worklist, name="member_card_worklist"),
    path("members/<int:pk>/reveal/", members.member_reveal_view, name="member_reveal"),
    path("members/<int:pk>/edit/", members.member_edit, name="member_edit"),
    path(
        "enrollments/<int:pk>/withdraw/",
        members.enrollment_withdraw_view,
        name="enrollment_withdraw",
    ),
    path("enrollment/import/", enrollment.import_start, name="enrollment_import"),
    path(
        "enrollment/import/template.xlsx",
        enrollment.import_template,
        name="enrollment_import_template",
    ),
    path(
        "enrollment/import/<str:token>/problems.xlsx",
        enrollment.import_problems,
        name="enrollment_import_problems",
    ),
    path(
        "enrollment/import/<str:token>/",
        enrollment.import_preview,
        name="enrollment_import_preview",
    ),
    path(
        "enrollment/import/<str:token>/confirm/",
        enrollment.import_confirm,
        name="enrollment_import_confirm",
    ),
    path(
        "enrollment/import/<str:token>/cancel/",
        enrollment.import_cancel,
        name="enrollment_import_cancel",
    ),
    path("claims/review/", claim_review.review_queue, name="review_queue"),
    path("claims/review/new/", claim_review.review_file_claim, name="review_file_claim"),
    path("claims/review/<int:pk>/", claim_review.review_detail, name="review_detail"),
    path("claims/review/<int:pk>/act/", claim_review.review_act, name="review_act"),
    path("claims/review/<int:pk>/correct/", claim_review.review_correct, name="review_correct"),
    path(
        "claims/review/documents/<int:pk>/",
        claim_review.review_document,
        name="review_document",
    ),
    path("payments/", payment_views.payment_queue, name="payment_queue"),
    path("payments/batches/", payment_views.payment_batches, name="payment_batches"),
    path(
        "payments/batches/create/",
        payment_views.payment_batch_create_view,
        name="payment_batch_create",
    ),
    path("payments/batches/<int:pk>/", payment_views.payment_batch_detail, name="payment_batch"),
    path(
        "payments/batches/<int:pk>/export/<str:fmt>/",
        payment_views.payment_batch_export_view,
        name="payment_batch_export",
    ),
    path(
        "payments/batches/<int:pk>/mark-sent/",
        payment_views.payment_batch_mark_sent_view,
        name="payment_batch_mark_sent",
    ),
    path(
        "payments/batches/<int:pk>/return/",
        payment_views.payment_batch_return_view,
        name="payment_batch_return",
    ),
    path(
        "payments/batches/<int:pk>/cancel/",
        payment_views.payment_batch_cancel_view,
        name="payment_batch_cancel",
    ),
    path(
        "payments/batches/<int:pk>/summary/",
        payment_views.payment_batch_summary,
        name="payment_batch_summary",
    ),
    path("payments/adjustments/", payment_views.adjustment_items, name="payment_adjustments"),
    path("settlements/", settlement_views.settlement_upload, name="settlement_upload"),
    path(
        "settlements/batches/<int:pk>/",
        settlement_views.settlement_batch,
        name="settlement_batch",
    ),
    path("claims/", claim_pages.claim_list_view, name="claim_list"),
    path("claims/<int:pk>/", claim_pages.claim_detail_view, name="claim_detail"),
    path("fees/", fees.fee_statement_list, name="fee_statements"),
    path("plans/", plans.plan_list, name="plan_list"),
    path("plans/<int:pk>/", plans.plan_version, name="plan_version"),
    path("plans/compare/", plans.plan_compare, name="plan_compare"),
    path("reports/", report_views.report_view, name="reports"),
    path("reports/<str:name>/", report_views.report_view, name="report"),
    path("fees/receipts/", fees.fee_receipt_add_view, name="fee_receipt_add"),
    path("fees/receipts/<int:pk>/voucher/", fees.fee_receipt_voucher, name="fee_receipt_voucher"),
    path(
        "fees/<int:union_id>/<int:year>/download/",
        fees.fee_statement_download,
        name="fee_statement_download",
    ),
]
