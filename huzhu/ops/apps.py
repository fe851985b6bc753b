import sys

from django.apps import AppConfig

# Commands that run background tasks: the scheduler and heartbeat thread starts in them.
WORKER_COMMANDS = frozenset({"db_worker", "rqworker"})


class OpsConfig(AppConfig):
    name = "huzhu.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from . import tracing

        tracing.connect_task_signals()
        if _running_command() in WORKER_COMMANDS:
            from .scheduler import worker_loop_start

            worker_loop_start()


def _running_command() -> str | None:
    """The management command this process runs (`huzhu db_worker` -> "db_worker")."""
    argv = sys.argv
    launchers = {"huzhu", "manage.py", "django-admin", "__main__.py"}
    if len(argv) >= 2 and argv[0].rsplit("/", 1)[-1] in launchers:
        return argv[1]
    return None
