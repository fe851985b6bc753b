from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "huzhu.payments"
    label = "payments"
