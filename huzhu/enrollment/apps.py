from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "huzhu.enrollment"
    label = "enrollment"
