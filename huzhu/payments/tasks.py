"""Background work of the payments app (django-tasks)."""

from django_tasks import task

from huzhu.claims.notifications import deliver


@task()
def deliver_notifications(notification_ids: list[int]) -> int:
    """Deliver stored member notifications (a paid batch's messages), one by one."""
    for notification_id in notification_ids:
        deliver(notification_id)
    return len(notification_ids)
