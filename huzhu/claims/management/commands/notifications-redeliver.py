"""`huzhu notifications-redeliver [--older-than SECONDS] [--limit N]`.

Sends again the stored notifications that were never delivered (the process or the database
went away between the commit and the delivery), once older than the grace period (default
120 s, so deliveries still on their way are not doubled), each at most 5 times. Safe to run
from cron while other runners and the server work. Exit 0; the last line is the JSON summary
`{"tried", "sent", "failed", "unreachable"}`.
"""

from huzhu.claims.notifications import REDELIVERY_GRACE_SECONDS, notifications_redeliver
from huzhu.core.commands import HuzhuCommand, UsageError


class Command(HuzhuCommand):
    help = "Re-deliver stored notifications left unsent (older than a grace period)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=REDELIVERY_GRACE_SECONDS,
            metavar="SECONDS",
            help=f"only those created at least this long ago (default {REDELIVERY_GRACE_SECONDS})",
        )
        parser.add_argument("--limit", type=int, default=None, metavar="N", help="at most N")

    def handle(self, *args, **options):
        older_than, limit = options["older_than"], options["limit"]
        if older_than < 0:
            raise UsageError("--older-than 不能为负数")
        if limit is not None and limit < 1:
            raise UsageError("--limit 应为正整数")
        self.write_summary(notifications_redeliver(older_than=older_than, limit=limit).summary())
