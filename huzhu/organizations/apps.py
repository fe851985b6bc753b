from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "huzhu.organizations"
    label = "organizations"

    def ready(self):
        # Audit receivers of logins, failures and lockouts.
        from . import security  # noqa: F401
