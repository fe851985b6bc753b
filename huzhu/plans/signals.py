"""Signals of the plans app: what happens when a plan version is loaded belongs to the apps
above plans (claims re-priced, refused records adjudicated again), which connect here.

`plan_version_loaded(sender=PlanVersion, version, plan, acting_user)` is sent by `plan_load`
inside its transaction when a new version is stored (not for an identical file): a
receiver's error rolls the load back, so a version never stands without its consequences.
A receiver may return a dict: its items become `PlanLoadResult.follow_ups` (the command and
the plans page show them).
"""

from django.dispatch import Signal

plan_version_loaded = Signal()
