"""Notifications' writes, as use-case modules (docs/architecture.md, "Inside an app"):
`inbox` (events become notifications: idempotency, grouping, seqs; read state), `rules`
(who may be told), `events` (what each hook's event means), `delivery` (push, per
preferences and quiet hours), `preferences` (the matrix, quiet hours, per-creator posts),
`texts` (the wording). `_common` holds the candidate."""

from apps.notifications.digest.frequency import digest_frequency_set
from apps.notifications.services._common import Candidate
from apps.notifications.services.delivery import (
    channel_enabled,
    in_quiet_hours,
    notification_deliver,
    push_refusal,
)
from apps.notifications.services.events import event_handle
from apps.notifications.services.inbox import (
    notification_mark_read,
    notifications_data_replace,
    notifications_mark_all_read,
    notifications_mark_read_about,
    notify,
)
from apps.notifications.services.preferences import (
    creator_subscription_set,
    preferences_update,
)

__all__ = [
    "Candidate",
    "channel_enabled",
    "creator_subscription_set",
    "digest_frequency_set",
    "event_handle",
    "in_quiet_hours",
    "notification_deliver",
    "notification_mark_read",
    "notifications_data_replace",
    "notifications_mark_all_read",
    "notifications_mark_read_about",
    "notify",
    "preferences_update",
    "push_refusal",
]
