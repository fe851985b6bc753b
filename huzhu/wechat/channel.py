"""Notification channels: WeChat template messages with SMS as the fallback, and SMS alone.

`wechat` (on when `HUZHU_WECHAT_APPID` is set): the six kinds of claim news go to the
member's openid as template messages linking to the claim's page through OAuth. A member
without an openid, a kind without a template id, or a refusal by WeChat (43004 not
following, 43101 refused messages, …) goes by SMS instead. A transient failure (system busy,
no answer, token trouble after one refresh) raises: the notification stays unsent and the
re-delivery (`huzhu notifications-redeliver`) tries again. Every answer is stored
(`DeliveryAnswer`) and the channel that delivered it is recorded on the notification
(`channels`: "wechat" or "sms").

`sms`: the same news by SMS only (a deployment without an official account).
"""

from __future__ import annotations

import json
import logging

from huzhu.claims.models import ClaimStatus, ClaimTransition, Notification
from huzhu.claims.notifications import NotificationChannel
from huzhu.members.sms import SmsProviderError, sms_backend

from .client import WeChatError, template_send
from .config import wechat_settings
from .models import DeliveryAnswer, DeliveryChannel, WeChatBinding
from .notices import ClaimFacts, Message, build_message

log = logging.getLogger(__name__)


def claim_facts(notification: Notification) -> ClaimFacts | None:
    claim = notification.claim
    if claim is None:
        return None
    returned_reason = ""
    if notification.kind == "claim_returned":
        returned_reason = (
            ClaimTransition.objects.filter(claim=claim, to_status=ClaimStatus.RETURNED)
            .order_by("-at", "-id")
            .values_list("reason", flat=True)
            .first()
            or ""
        )
    reviewed = ClaimTransition.objects.filter(
        claim=claim, to_status=ClaimStatus.APPROVED, actor__isnull=False
    ).exists()
    return ClaimFacts(
        pk=claim.pk,
        number=claim.number,
        benefit=claim.benefit_name or claim.benefit_code,
        source=claim.source,
        amount_fen=claim.amount_fen,
        hospital=claim.hospital_name,
        reviewed_by_person=reviewed,
        returned_reason=returned_reason,
        payment_failure_reason=claim.payment_failure_reason or "",
    )


def message_for(notification: Notification) -> Message | None:
    return build_message(
        kind=notification.kind,
        text=notification.text,
        facts=claim_facts(notification),
        at=notification.created_at,
    )


def _record(notification, channel: str, *, ok: bool, code: str, answer: str) -> None:
    DeliveryAnswer.objects.create(
        notification=notification, channel=channel, ok=ok, code=code[:64], answer=answer
    )


def sms_notice_send(notification: Notification, message: Message) -> str | bool:
    """Send the message by SMS; "sms" when sent, False when the member has no phone."""
    phone = (notification.member.phone or "").strip()
    if not phone:
        return False
    try:
        answer = sms_backend().send_notice(phone, text=notification.text, params=message.sms_params)
    except SmsProviderError as exc:
        _record(notification, DeliveryChannel.SMS, ok=False, code=exc.code, answer=exc.message)
        raise
    _record(notification, DeliveryChannel.SMS, ok=True, code="Ok", answer=str(answer))
    return DeliveryChannel.SMS.value


class WeChatChannel(NotificationChannel):
    name = "wechat"

    def send(self, notification: Notification) -> str | bool:
        config = wechat_settings()
        if not config.enabled:
            return False
        message = message_for(notification)
        if message is None:
            return False
        template_id = config.templates.get(message.template_kind, "")
        openid = (
            WeChatBinding.objects.filter(member_id=notification.member_id)
            .values_list("openid", flat=True)
            .first()
        )
        if openid and template_id:
            url = f"{config.base_url}/m/wechat/?next={message.path}"
            try:
                answer = template_send(
                    openid=openid,
                    template_id=template_id,
                    url=url,
                    data=message.data,
                    config=config,
                )
            except WeChatError as exc:
                _record(
                    notification,
                    DeliveryChannel.WECHAT,
                    ok=False,
                    code=str(exc.errcode),
                    answer=exc.errmsg,
                )
                if not exc.refused:
                    raise
                log.info("notification %s: WeChat refused (%s), SMS", notification.pk, exc)
            else:
                _record(
                    notification,
                    DeliveryChannel.WECHAT,
                    ok=True,
                    code="0",
                    answer=json.dumps(answer, ensure_ascii=False),
                )
                return DeliveryChannel.WECHAT.value
        return sms_notice_send(notification, message)


class SmsNoticeChannel(NotificationChannel):
    name = "sms"

    def send(self, notification: Notification) -> str | bool:
        message = message_for(notification)
        if message is None:
            return False
        return sms_notice_send(notification, message)
