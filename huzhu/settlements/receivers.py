"""What the settlements app does when late data arrives (connected in `apps.ready`).

- A new plan version (`plans.signals.plan_version_loaded`, inside the load's transaction):
  the year's unpaid, unfixed claims are re-priced under it, then the year's refused records
  are adjudicated again; both summaries go back to the loader (command, plans page).
- An enrollment import committed (`enrollment.signals.enrollments_imported`): a task
  adjudicates again the refused records of that year and the next (the new enrollments may
  make next year's enrollments renewals, which have no waiting period).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def on_plan_version_loaded(sender, *, version, acting_user=None, **kwargs) -> dict:
    from .plans import loaded_plans
    from .readjudicate import _readjudicate, plan_version_reprice, settlements_lock

    # The import's lock first, before any ledger lock: an import holds it while it waits
    # for ledger locks, so taking them in the other order could deadlock.
    settlements_lock()
    repriced = plan_version_reprice(version, acting_user=acting_user)
    again = _readjudicate([version.scheme_year.year], loaded_plans(), acting_user)
    claims = repriced.pop("claims", [])
    return {"repriced": repriced, "repriced_claims": claims, "readjudicated": again.summary()}


def on_enrollments_imported(sender, *, scheme_year, **kwargs) -> None:
    from .tasks import settlements_readjudicate_task

    settlements_readjudicate_task.enqueue(years=[scheme_year.year, scheme_year.year + 1])
