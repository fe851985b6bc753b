"""The trail every channel leaves when it creates a claim (huzhu.claims.events): one
creation step in the timeline and one `claim.create` audit event of the same shape."""

from huzhu.audit.models import AuditEvent
from huzhu.claims.selectors import claim_timeline

CREATION_AFTER_KEYS = {"status", "number", "source", "amount_fen"}


def assert_created_once(claim, *, to_status: str, actor=None) -> None:
    timeline = claim_timeline(claim)
    creations = [t for t in timeline if t.from_status == ""]
    assert [(t.to_status, t.actor_id) for t in creations] == [
        (to_status, actor.pk if actor else None)
    ]
    assert timeline[0] == creations[0]
    audit = AuditEvent.objects.get(
        action="claim.create", object_type="claims.claim", object_id=str(claim.pk)
    )
    assert set(audit.after) == CREATION_AFTER_KEYS
    assert audit.after == {
        "status": to_status,
        "number": claim.number,
        "source": claim.source,
        "amount_fen": claim.amount_fen,
    }
    assert audit.actor_id == (actor.pk if actor else None)
    assert audit.reason == creations[0].reason
