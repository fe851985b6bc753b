from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "huzhu.settlements"
    label = "settlements"
