from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "huzhu.settlements"
    label = "settlements"

    def ready(self) -> None:
        from huzhu.enrollment.signals import enrollments_imported
        from huzhu.plans.signals import plan_version_loaded

        from . import receivers

        plan_version_loaded.connect(
            receivers.on_plan_version_loaded, dispatch_uid="settlements.plan_version_loaded"
        )
        enrollments_imported.connect(
            receivers.on_enrollments_imported, dispatch_uid="settlements.enrollments_imported"
        )
