from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "huzhu.organizations"
    label = "organizations"
