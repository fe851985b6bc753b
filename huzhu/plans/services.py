"""Writing plans: loading a plan file as a new version of its scheme year."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.enrollment.models import SchemeYear

from .models import PlanVersion
from .schema import Plan, plan_content_hash, plan_from_yaml
from .signals import plan_version_loaded

__all__ = ["PlanLoadResult", "plan_load"]


@dataclass(frozen=True)
class PlanLoadResult:
    version: PlanVersion
    plan: Plan
    created: bool  # False: an identical file was already loaded, nothing changed
    scheme_year_created: bool
    scheme_year_updated: list[str]
    # What the receivers of `plan_version_loaded` did (claims re-priced, records adjudicated
    # again), by their keys; empty when nothing was loaded.
    follow_ups: dict = field(default_factory=dict)


def _year_fields(plan: Plan) -> dict:
    return {
        "start": plan.period.start,
        "end": plan.period.end,
        "fee_per_member_fen": plan.fee_per_member_fen,
        "waiting_period_days": plan.waiting_period_days,
        "claim_window_days": plan.claim_window_days,
        "name": plan.name,
    }


def plan_load(*, source_text: str, source_name: str = "", acting_user=None) -> PlanLoadResult:
    """Validate a plan file and store it as the next version of its scheme year.

    An identical file (same content hash) changes nothing. The scheme year is created
    from the plan (period, fee, waiting period, claim window) if missing, and brought in
    line with a new version otherwise. Raises PlanError listing every problem.
    A new version is announced (`signals.plan_version_loaded`) inside the same
    transaction: the apps above re-price the year's unpaid, unfixed claims under it and
    adjudicate refused settlement records again; their summaries come back in `follow_ups`.
    """
    plan = plan_from_yaml(source_text)
    digest = plan_content_hash(source_text)
    fields = _year_fields(plan)
    with transaction.atomic():
        year, year_created = SchemeYear.objects.select_for_update().get_or_create(
            year=plan.year, defaults=fields
        )
        existing = PlanVersion.objects.filter(scheme_year=year, content_hash=digest).first()
        if existing is not None:
            return PlanLoadResult(existing, plan, False, False, [])
        changed = [] if year_created else [k for k, v in fields.items() if getattr(year, k) != v]
        if changed:
            before = {k: str(getattr(year, k)) for k in changed}
            for k in changed:
                setattr(year, k, fields[k])
            year.save(update_fields=changed)
            audit_record(
                actor=acting_user,
                action="scheme_year.update_from_plan",
                obj=year,
                before=before,
                after={k: str(fields[k]) for k in changed},
                reason=f"加载方案文件 {source_name}".strip(),
            )
        last = PlanVersion.objects.filter(scheme_year=year).order_by("-version").first()
        version = PlanVersion.objects.create(
            scheme_year=year,
            version=(last.version + 1) if last else 1,
            content_hash=digest,
            source_text=source_text,
            source_name=source_name[:255],
            loaded_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        )
        audit_record(
            actor=acting_user,
            action="plan.load",
            obj=version,
            after={
                "year": plan.year,
                "version": version.version,
                "content_hash": digest,
                "scheme_year_created": year_created,
            },
            reason=f"加载方案文件 {source_name}".strip(),
        )
        follow_ups: dict = {}
        for _receiver, response in plan_version_loaded.send(
            sender=PlanVersion, version=version, plan=plan, acting_user=acting_user
        ):
            if isinstance(response, dict):
                follow_ups.update(response)
    return PlanLoadResult(version, plan, True, year_created, changed, follow_ups)
