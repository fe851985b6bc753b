"""Login policy for staff accounts: lockout, second factor (TOTP + recovery codes), audit.

The libraries do the work: django-axes counts failures and locks a (user name, address) pair
out; django-otp keeps the TOTP and recovery-code devices and marks a session verified.
This module holds the project's policy around them (who must use a second factor, how a
device is enrolled or reset) and writes the audit events of logins and lockouts.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.audit.services import audit_record

from .models import Role

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery"


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login made through a web request.

    `authenticate()` without a request (a script, Django's test client) is not a login from
    an address, so there is nothing to count or lock: it is passed to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str | None:
    """The client's address. Behind HUZHU_TRUSTED_PROXIES reverse proxies, the address the
    outermost trusted proxy saw (X-Forwarded-For read from the right); else REMOTE_ADDR.
    X-Forwarded-For is never trusted without that setting: a client could forge it to
    dodge the lockout."""
    count = getattr(settings, "HUZHU_TRUSTED_PROXIES", 0)
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


def is_staff_login(user) -> bool:
    """A login that works on staff pages (every role but member; superusers)."""
    return bool(
        user
        and user.is_authenticated
        and (user.is_superuser or getattr(user, "role", Role.MEMBER) != Role.MEMBER)
    )


def has_second_factor(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def second_factor_required(user) -> bool:
    """Admins, federation reviewers and finance (and superusers) must use a second factor;
    any other staff login that enrolled one is asked for it too."""
    if not is_staff_login(user):
        return False
    roles = set(settings.HUZHU_SECOND_FACTOR_ROLES)
    if roles and (user.is_superuser or user.role in roles):
        return True
    return has_second_factor(user)


def totp_device_pending(user) -> TOTPDevice:
    """The unconfirmed authenticator device being enrolled (made on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def recovery_codes_issue(user, *, count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Replace the user's recovery codes with `count` new one-time codes; returns them."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(count)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


@transaction.atomic
def second_factor_enroll(*, user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm a pending authenticator with a code it shows; returns the new recovery codes,
    or None when the code is wrong (nothing changes)."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token(token.strip()):
        return None
    # One authenticator per login: an older one (after a reset there is none) is replaced.
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_issue(user)
    audit_record(actor=user, action="second_factor.enroll", **_user_ref(user))
    return codes


@transaction.atomic
def second_factor_reset(*, user, acting_user, reason: str = "") -> int:
    """Remove every second-factor device of `user` (lost phone): they enrol again at their
    next login. Returns the number of devices removed."""
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        removed += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
    audit_record(
        actor=acting_user,
        action="second_factor.reset",
        **_user_ref(user),
        before={"devices": removed},
        reason=reason,
    )
    return removed


def _user_ref(user) -> dict:
    """Audit events about a login name its user name as the object (what people search for)."""
    return {"object_type": "organizations.user", "object_id": user.get_username()}


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    audit_record(
        actor=user,
        action="login",
        **_user_ref(user),
        after={"ip": client_ip(request) if request else None},
    )


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action="logout", **_user_ref(user))


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    username = ((credentials or {}).get("username") or "")[:64]
    audit_record(
        actor=None,
        action="login.failed",
        object_type="organizations.user",
        object_id=username,
        after={"ip": client_ip(request) if request else None},
    )


@receiver(user_locked_out)
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        actor=None,
        action="login.lockout",
        object_type="organizations.user",
        object_id=(username or "")[:64],
        after={"ip": ip_address},
    )


def lockouts_active() -> dict[str, list[str]]:
    """User name -> addresses it is locked out from now (for the accounts page)."""
    from axes.helpers import get_failure_limit
    from axes.models import AccessAttempt

    limit = get_failure_limit(None, None)
    locked: dict[str, list[str]] = {}
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=limit)
    if settings.AXES_COOLOFF_TIME:
        from django.utils import timezone

        attempts = attempts.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    for username, ip in attempts.values_list("username", "ip_address"):
        locked.setdefault(username or "", []).append(ip or "")
    return locked


@transaction.atomic
def lockout_clear(*, username: str, acting_user) -> int:
    """An administrator lifts the lockouts of `username` (every address)."""
    from axes.utils import reset

    removed = reset(username=username)
    audit_record(
        actor=acting_user,
        action="login.unlock",
        object_type="organizations.user",
        object_id=username[:64],
        after={"attempts_cleared": removed},
    )
    return removed
