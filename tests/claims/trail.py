"""The trail every channel leaves when it creates a claim (huzhu.claims.events): one
creation step in the timeline and one `claim.create` audit event of the same shape."""

from huzhu.audit.models import AuditEvent
from huzhu.claims.selectors import claim_timeline

CREATION_AFTER_KEYS = {"status", "number", "source", "amount_fen"}


def assert_created_once(claim, *, to_status: str, actor=None, bulk: bool = False) -> None:
    """One creation step first in the timeline; its audit event: `claim.create` (same keys
    on every channel), or for a claim an import wrote in bulk, the import's one
    `claims.create_bulk` event whose id range holds the claim."""
    timeline = claim_timeline(claim)
    creations = [t for t in timeline if t.from_status == ""]
    assert [(t.to_status, t.actor_id) for t in creations] == [
        (to_status, actor.pk if actor else None)
    ]
    assert timeline[0] == creations[0]
    if bulk:
        assert not AuditEvent.objects.filter(action="claim.create", object_id=str(claim.pk))
        (audit,) = [
            a
            for a in AuditEvent.objects.filter(action="claims.create_bulk")
            if a.after["first_id"] <= claim.pk <= a.after["last_id"]
        ]
        assert audit.after["source"] == claim.source
        return
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
