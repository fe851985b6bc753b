"""`huzhu demo`: load the demo data. Safe to run again: each step is idempotent."""

import importlib

from django.core.management.base import BaseCommand

# Each module has `run(*, stdout) -> None`; they run in this order (later ones build on earlier).
DEMO_STEPS = [
    "huzhu.organizations.demo",
    "huzhu.enrollment.demo",
    "huzhu.settlements.demo",
    "huzhu.hospitals.demo",
    "huzhu.payments.demo",
    "huzhu.reports.demo",
    "huzhu.web.member.demo",
    "huzhu.wechat.demo",
    "huzhu.portal.demo",
]


class Command(BaseCommand):
    help = "Load demo data (unions, members, enrollments, plans, claims, portal). Idempotent."

    def handle(self, *args, **options):
        for name in DEMO_STEPS:
            module = importlib.import_module(name)
            module.run(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("演示数据已就绪 / demo data ready"))
