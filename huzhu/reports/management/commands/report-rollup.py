"""`huzhu report-rollup check|rebuild`.

The reports read the claim rollups (ClaimFacts, ClaimDays, ClaimHospitals) that triggers on
claims_claim keep (huzhu/reports/rollup.py). `check` compares them with a fresh count of the
claims: exit 0 when equal and the triggers are installed, 1 otherwise (the first differences
listed). `rebuild` reinstalls the triggers (with the time zone's current offset) and recounts
the rollups from the claims in one transaction (PostgreSQL: claim writers wait meanwhile),
then checks. The last line is the JSON summary.
"""

from huzhu.core.commands import HuzhuCommand
from huzhu.reports.rollup import rollup_check, rollup_rebuild


class Command(HuzhuCommand):
    help = "Check the reports' claim rollups against the claims, or rebuild them."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["check", "rebuild"])

    def handle(self, *args, **options):
        summary = {}
        if options["action"] == "rebuild":
            summary["rebuilt"] = rollup_rebuild()
        summary.update(rollup_check())
        self.write_summary(summary)
        if not summary["ok"]:
            self.exit_refused()
