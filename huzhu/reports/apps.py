from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "huzhu.reports"
    label = "reports"
