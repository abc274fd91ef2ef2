"""deliver_push's body: the recipient's targets, their budget, one send each (with the
retry loop), and the clean-up of subscriptions and tokens the services say are gone."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis
from django.utils import timezone

from apps.accounts import selectors as account_selectors
from apps.accounts import services as account_services
from apps.accounts.models import Device
from apps.notifications.push import (
    PushMessage,
    PushOutcome,
    PushRetry,
    apns,
    budget,
    fcm,
    webpush,
)
from apps.notifications.push.models import WebPushSubscription
from apps.notifications.push.retry import Answer, Result, with_retries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Target:
    ref: str  # "w<subscription id>" or "d<device id>:<token hash>", for the sent markers
    channel: str  # a budget channel: webpush or mobile
    send: Callable[[], Answer]
    remove: Callable[[], bool]


def message_key(message: PushMessage) -> str:
    """The same message (a retried delivery) has the same key; a grown group (new title)
    does not. The badge is left out: the unread count moves between a try and its retry."""
    fields = asdict(message)
    fields.pop("badge")
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def _remove_subscription(subscription: WebPushSubscription) -> bool:
    return WebPushSubscription.objects.filter(pk=subscription.pk,
                                              endpoint=subscription.endpoint).delete()[0] > 0


def _live_subscriptions(user_id: int) -> list[WebPushSubscription]:
    """The user's subscriptions whose session is still signed in; the others (logged out,
    ended, expired) are deleted: the browser subscribes again when someone logs in there
    and turns notifications on."""
    subscriptions = list(WebPushSubscription.objects.filter(user_id=user_id).order_by("pk"))
    live = account_selectors.live_session_keys(s.session_key for s in subscriptions)
    stale = [s.pk for s in subscriptions if s.session_key not in live]
    if stale:
        WebPushSubscription.objects.filter(pk__in=stale).delete()
    return [s for s in subscriptions if s.session_key in live]


def _targets(user_id: int, message: PushMessage) -> list[_Target]:
    targets = [
        _Target(f"w{s.pk}", "webpush", lambda s=s: webpush.send(s, message),  # type: ignore[misc]
                lambda s=s: _remove_subscription(s))  # type: ignore[misc]
        for s in _live_subscriptions(user_id)
    ]
    for device in account_selectors.push_devices_for(user_id):
        sender = apns.send if device.platform == Device.Platform.IOS else fcm.send
        token = device.push_token
        token_ref = hashlib.sha256(token.encode()).hexdigest()[:12]
        targets.append(_Target(
            f"d{device.pk}:{token_ref}", "mobile",
            lambda sender=sender, token=token: sender(token, message),  # type: ignore[misc]
            lambda pk=device.pk, token=token: account_services.device_push_token_remove(  # type: ignore[misc]
                device_id=pk, push_token=token)))
    return targets


def deliver(*, user_id: int, message: PushMessage) -> PushOutcome:
    targets = _targets(user_id, message)
    if not targets:
        return PushOutcome(sent=0, failed=0, removed_tokens=0, rate_limited=False)
    key = message_key(message)
    try:
        done = budget.already_sent(user_id=user_id, message_key=key)
        pending = [t for t in targets if t.ref not in done]
        allowed = {channel for channel in {t.channel for t in pending}
                   if budget.take(user_id=user_id, channel=channel, message_key=key)}
    except redis.RedisError as exc:
        # No budget to check: send nothing rather than wait on Redis or flood the phone;
        # the notification stays in the inbox and the digest.
        logger.warning("push to %s not sent: Redis unavailable (%s)", user_id, exc)
        return PushOutcome(sent=0, failed=0, removed_tokens=0, rate_limited=True)
    if pending and not allowed:
        return PushOutcome(sent=0, failed=0, removed_tokens=0, rate_limited=True)

    sent: list[str] = []
    failed = removed = 0
    retry_after: float | None = None
    for target in pending:
        if target.channel not in allowed:
            continue
        answer = with_retries(target.send)
        if answer.result is Result.SENT:
            sent.append(target.ref)
            if target.ref.startswith("w"):
                WebPushSubscription.objects.filter(pk=int(target.ref[1:])).update(
                    last_sent_at=timezone.now())
            continue
        if answer.result is Result.REMOVE:
            removed += int(target.remove())
            logger.info("push target %s of %s removed: %s", target.ref, user_id,
                        answer.detail)
            continue
        failed += 1
        logger.warning("push to %s via %s failed: %s", user_id, target.ref, answer.detail)
        if answer.result is Result.RETRY:
            wait = answer.retry_after or 0.0
            retry_after = max(retry_after or 0.0, wait, 1.0)
    try:
        budget.mark_sent(user_id=user_id, message_key=key, targets=sent)
    except redis.RedisError as exc:  # a retry may send these again (same collapse key)
        logger.warning("push sent-markers for %s not kept: %s", user_id, exc)
    outcome = PushOutcome(sent=len(sent) + len(done & {t.ref for t in targets}),
                          failed=failed, removed_tokens=removed, rate_limited=False)
    if retry_after is not None:
        raise PushRetry(outcome, retry_after)
    return outcome
