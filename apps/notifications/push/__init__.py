"""Push delivery (issue 14): Web Push (VAPID, aes128gcm), FCM HTTP v1 and APNs, within a
per-recipient per-channel budget, with collapse keys.

The notifications core calls `deliver_push` from its Celery task (the `notifications`
queue) once the in-app row is committed and preferences and quiet hours allow a push. This
module stays import-light (apps.notifications.models imports push.models at app loading);
the sending lives in `push.delivery`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PushMessage:
    title: str  # e.g. "maya and 41 others liked your video"
    body: str
    url: str  # the web path to open, e.g. "/@maya/video/123"
    collapse_key: str  # one updating notification per group on the phone: "like:post:123"
    notification_id: str  # for the client to mark read
    type: str  # the notification type name
    badge: int | None = None  # unread count


@dataclass(frozen=True)
class PushOutcome:
    sent: int
    failed: int
    removed_tokens: int
    rate_limited: bool


class PushRetry(Exception):  # noqa: N818 (the name is the contract with the core)
    """Some targets answered 429/5xx (or did not answer) through every attempt inside the
    call: retry the delivery later (at least `retry_after` seconds). What was sent is not
    sent again by the retry (push.delivery remembers it per message)."""

    def __init__(self, outcome: PushOutcome, retry_after: float) -> None:
        super().__init__(f"push: {outcome.failed} target(s) to retry in {retry_after:.0f} s")
        self.outcome = outcome
        self.retry_after = retry_after


def deliver_push(*, user_id: int, message: PushMessage) -> PushOutcome:
    """Send to every Web Push subscription and mobile device token of the user (APNs for
    iOS devices, FCM for Android), within the recipient's push budget (token bucket);
    over budget -> rate_limited=True and nothing sent (the notification stays in the inbox
    and the digest). Payload under 3 KB. 410/UNREGISTERED remove the subscription/token;
    429/5xx raise PushRetry after the backoff inside the call is exhausted."""
    from apps.notifications.push.delivery import deliver

    return deliver(user_id=user_id, message=message)


__all__ = ["PushMessage", "PushOutcome", "PushRetry", "deliver_push"]
