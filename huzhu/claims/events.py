"""The claims core's one events writer: the trail of every step of a claim's life.

A step (a claim created, or moved from one status to another) leaves exactly two rows, of
the same shape whatever the channel (settlement import, one-stop cashier, member online,
union operator at the counter, reviewer, bank return): one `ClaimTransition` (who, when,
from -> to, why: the claim's timeline) and one audit event (`claim.create` or
`claim.<to_status>`, before -> after). They are written in the caller's transaction, with
the claim change itself; the member's notification is stored in the same transaction by the
caller's service and delivered on commit.

Batch-aware: `claim_events_write(events)` takes one event or 100,000 (a few set-based
inserts, COPY on PostgreSQL); `claim_transition_frame(...)` builds the same transition rows
as a polars frame for an import that writes its claims by COPY (`huzhu.claims.bulk`), whose
audit record is one event per import (`claim_bulk_audit`), see there why.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from django.utils import timezone

from huzhu.audit.models import AuditEvent
from huzhu.core.bulk import bulk_insert

from .models import Claim, ClaimTransition

__all__ = [
    "CREATE_ACTION",
    "ClaimEvent",
    "claim_creation_after",
    "claim_event_action",
    "claim_bulk_audit",
    "claim_transition_frame",
    "claim_event_objects",
    "claim_events_write",
]

CREATE_ACTION = "claim.create"
BULK_CREATE_ACTION = "claims.create_bulk"
CLAIM_OBJECT_TYPE = Claim._meta.label_lower
TRANSITION_FIELDS = ["claim_id", "from_status", "to_status", "actor_id", "at", "reason"]
AUDIT_FIELDS = ["at", "actor_id", "action", "object_type", "object_id", "before", "after", "reason"]


@dataclass(frozen=True)
class ClaimEvent:
    """One step of one claim. `from_status` is "" for the step that created the claim;
    `actor_id` None is the platform itself."""

    claim_id: int
    from_status: str
    to_status: str
    actor_id: int | None = None
    reason: str = ""
    action: str = ""  # the audit action; default `claim_event_action(from, to)`
    before: dict | None = None
    after: dict | None = None


def claim_event_action(from_status: str, to_status: str) -> str:
    return CREATE_ACTION if not from_status else f"claim.{to_status}"


def claim_creation_after(*, status: str, number: str, source: str, amount_fen) -> dict:
    """The audit `after` of a claim's creation: the same keys on every channel."""
    return {"status": status, "number": number, "source": source, "amount_fen": amount_fen}


def _actor_id(acting_user) -> int | None:
    if acting_user is None or not getattr(acting_user, "is_authenticated", False):
        return None
    return acting_user.pk


def _audit_values(e: ClaimEvent, at) -> tuple:
    return (
        at,
        e.actor_id,
        e.action or claim_event_action(e.from_status, e.to_status),
        CLAIM_OBJECT_TYPE,
        str(e.claim_id),
        e.before,
        e.after,
        e.reason,
    )


def claim_event_objects(
    event: ClaimEvent, *, at: dt.datetime
) -> tuple[ClaimTransition, AuditEvent]:
    """The rows of one event as unsaved model objects, for a caller that writes them with
    its own statements (the one-stop settle's single round trip); the same values as
    `claim_events_write`."""
    transition = ClaimTransition(
        claim_id=event.claim_id,
        from_status=event.from_status,
        to_status=event.to_status,
        actor_id=event.actor_id,
        at=at,
        reason=event.reason,
    )
    audit = AuditEvent(**dict(zip(AUDIT_FIELDS, _audit_values(event, at), strict=True)))
    return transition, audit


def claim_events_write(events: Iterable[ClaimEvent], *, at: dt.datetime | None = None) -> int:
    """Write each event's transition and audit event (inside the caller's transaction).
    Returns the number of events."""
    events = list(events)
    if not events:
        return 0
    at = at or timezone.now()
    bulk_insert(
        ClaimTransition,
        TRANSITION_FIELDS,
        [(e.claim_id, e.from_status, e.to_status, e.actor_id, at, e.reason) for e in events],
        returning=False,
    )
    bulk_insert(
        AuditEvent,
        AUDIT_FIELDS,
        [_json_audit(_audit_values(e, at)) for e in events],
        returning=False,
    )
    return len(events)


def _json_audit(values: tuple) -> tuple:
    at, actor_id, action, object_type, object_id, before, after, reason = values
    return (
        at,
        actor_id,
        action,
        object_type,
        object_id,
        None if before is None else json.dumps(before, ensure_ascii=False),
        None if after is None else json.dumps(after, ensure_ascii=False),
        reason,
    )


def claim_transition_frame(claims: pl.DataFrame, *, at_db: str) -> pl.DataFrame:
    """The creation steps of claims an import writes in bulk, as a frame for `frame_insert`:
    the same `ClaimTransition` rows `claim_events_write` gives each created claim.
    `claims` holds `id`, `status`, `status_reason`; `at_db` is the creation time as database
    text (`db_datetime`).

    The import's audit record is its batch (`claims.create_bulk`, `claim_bulk_audit`): one
    audit event per import naming the claims it created, not one per claim. Measured on the
    settlement-import benchmark (300,000 rows, PostgreSQL), a `claim.create` audit event per
    claim cost about 40% more CPU (client and server) for the whole import, far over the 10% the import
    may lose."""
    return claims.select(
        pl.col("id").alias("claim_id"),
        pl.lit("").alias("from_status"),
        pl.col("status").alias("to_status"),
        pl.lit(None, dtype=pl.Int64).alias("actor_id"),
        pl.lit(at_db).alias("at"),
        pl.col("status_reason").fill_null("").alias("reason"),
    )


def claim_bulk_audit(*, source: str, batch: str, first_id: int, last_id: int, count: int) -> None:
    """The one audit event of the `count` claims created in bulk (ids `first_id`..`last_id`,
    a settlement import `batch`)."""
    AuditEvent.objects.create(
        actor=None,
        action=BULK_CREATE_ACTION,
        object_type=CLAIM_OBJECT_TYPE,
        object_id=f"{first_id}-{last_id}",
        after={
            "source": source,
            "batch": batch,
            "claims": count,
            "first_id": first_id,
            "last_id": last_id,
        },
        reason=batch,
    )
