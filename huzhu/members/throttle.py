"""Counted tries shared by every app process: the limits on member login and binding.

A limit is "at most `max_tries` counted tries per key in any `window`" (a sliding window).
Each counted try is a `ThrottleEvent` row in the database, so every worker process and every
app server sees the same counts (Django's default cache is per process and would not). Keys
(a phone, a client address, a phone + client pair) are stored only as keyed HMACs.

Callers count a try *before* doing it (`throttle_take`) and give it back when it turns out
not to count (`throttle_give_back`, e.g. the code or the ID number was right). Counting first
is what stops N requests sent at the same moment from all getting through: tries on the same
key are serialised (PostgreSQL: a transaction-level advisory lock per key; SQLite: the write
lock every transaction takes at BEGIN IMMEDIATE, see settings).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import ThrottleEvent

__all__ = [
    "Limit",
    "Taken",
    "Throttled",
    "address_bucket",
    "throttle_give_back",
    "throttle_left",
    "throttle_prune",
    "throttle_retry_after",
    "throttle_take",
]


@dataclass(frozen=True)
class Limit:
    """At most `max_tries` counted tries per key in any `window`; `scope` names the limit."""

    scope: str
    max_tries: int
    window: timedelta


class Throttled(Exception):
    """A limit is full: `limit` is the one, `retry_after` the seconds until a try is free."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"{limit.scope}: retry after {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after


@dataclass
class Taken:
    """The rows one try counted, and how many tries each limit has left after it."""

    ids: list[int] = field(default_factory=list)
    left: dict[str, int] = field(default_factory=dict)


def address_bucket(address: str) -> str:
    """What a client address counts as: an IPv4 address itself, an IPv6 address its /64 (one
    subscriber line gets a whole /64, so counting single addresses would be no limit)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or ""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(scope: str, key: str) -> str:
    return salted_hmac("huzhu.members.throttle", f"{scope}\n{key}", algorithm="sha256").hexdigest()


def _lock(digests: list[str]) -> None:
    """Serialise tries on the same keys until the transaction ends (PostgreSQL). Sorted, so
    two tries locking the same two keys cannot deadlock."""
    if connection.vendor != "postgresql":
        return  # SQLite: the transaction already holds the database's write lock
    with connection.cursor() as cursor:
        for digest in sorted(set(digests)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(digest[:15], 16)])


def _in_window(limit: Limit, digest: str, now: datetime):
    # No upper bound: a try another process stamped a moment "later" than our `now` (taken
    # before we got the lock) still counts.
    return ThrottleEvent.objects.filter(scope=limit.scope, key=digest, at__gt=now - limit.window)


def _retry_after(limit: Limit, digest: str, now: datetime) -> int:
    """Seconds until fewer than `max_tries` of this key's tries are in the window."""
    times = list(_in_window(limit, digest, now).order_by("at").values_list("at", flat=True))
    over = len(times) - limit.max_tries  # >= 0 when full
    free_at = times[over] + limit.window
    return max(1, math.ceil((free_at - now).total_seconds()))


def throttle_left(limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """Tries `key` has left under `limit` now (0: a try would be refused). Counts nothing."""
    now = now or timezone.now()
    return max(0, limit.max_tries - _in_window(limit, _digest(limit.scope, key), now).count())


def throttle_retry_after(limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """Seconds until `key` may try again under `limit` (0 when it may now)."""
    now = now or timezone.now()
    if throttle_left(limit, key, now=now):
        return 0
    return _retry_after(limit, _digest(limit.scope, key), now)


def throttle_take(checks: Sequence[tuple[Limit, str]], *, now: datetime | None = None) -> Taken:
    """Count one try against every (limit, key) of `checks`, or none of them.

    Raises `Throttled` (counting nothing) when any limit is already full; when several are,
    the one with the longest wait. Call it outside any long transaction: the count must be
    committed for other processes to see it.
    """
    now = now or timezone.now()
    digests = [_digest(limit.scope, key) for limit, key in checks]
    refused: Throttled | None = None
    taken = Taken()
    with transaction.atomic():
        _lock(digests)
        for (limit, _key), digest in zip(checks, digests, strict=True):
            used = _in_window(limit, digest, now).count()
            if used >= limit.max_tries:
                wait = _retry_after(limit, digest, now)
                if refused is None or wait > refused.retry_after:
                    refused = Throttled(limit, wait)
            taken.left[limit.scope] = limit.max_tries - used - 1
        if refused is not None:
            raise refused
        rows = ThrottleEvent.objects.bulk_create(
            ThrottleEvent(scope=limit.scope, key=digest, at=now)
            for (limit, _key), digest in zip(checks, digests, strict=True)
        )
        taken.ids = [row.pk for row in rows]
    _sweep({limit for limit, _key in checks}, now)
    return taken


def throttle_give_back(taken: Taken) -> None:
    """Un-count a try that turned out not to count (the code or the ID number was right)."""
    if taken.ids:
        ThrottleEvent.objects.filter(pk__in=taken.ids).delete()


# Longer than any limit's window (the longest, binding per phone, is 24 hours).
KEEP = timedelta(days=2)


def throttle_prune(*, now: datetime | None = None) -> int:
    """Delete counted tries no limit can see any more (the daily ops job); returns how many.
    Tries also sweep their own scope as they come in; this catches scopes gone quiet."""
    now = now or timezone.now()
    deleted, _ = ThrottleEvent.objects.filter(at__lt=now - KEEP).delete()
    return deleted


def _sweep(limits: set[Limit], now: datetime) -> None:
    """Drop rows that no window can see any more. Best effort: a sweep that meets another
    one's row locks gives up (the next try sweeps again)."""
    for limit in limits:
        try:
            with transaction.atomic():
                ThrottleEvent.objects.filter(scope=limit.scope, at__lte=now - limit.window).delete()
        except DatabaseError:
            pass
