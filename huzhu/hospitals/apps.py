from django.apps import AppConfig


class HospitalsConfig(AppConfig):
    name = "huzhu.hospitals"
    label = "hospitals"
    verbose_name = "医院与一站式结算"
