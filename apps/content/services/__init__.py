"""Every write of the content domain: posts (create, edit, delete, publish, schedule, pin),
their hashtags and mentions, and sounds.

Publishing always goes through `_publish` (compare-and-set on `status`), so a post is
published exactly once whoever gets there first: the create request, the media playable
hook, the beat task for scheduled posts, or its safety sweep. `Hashtag.posts_count` and
`Sound.posts_count` count published posts and move in the same transaction, with F(),
after locking the counter rows in primary-key order.

One module per use case: `posts` (create, edit, delete, pin), `removal` (moderation's
removals and reinstatements), `publishing` (from media's hooks and the beat), `captions`
(hashtags and mentions), `counters` (`_publish` and the counts), `sounds`,
`public_media` (CDN URLs retired), `versions` (a post moved onto a new version of its
video), `derived` (a duet's or stitch's credit), `accounts` (a user's content purged, recounts);
shared constants in `_common`. This package re-exports the names callers use.
"""

from apps.content.services._common import (
    PIN_LIMIT,
    PUBLISH_DUE_BATCH,
    SCHEDULE_MAX_LEAD,
    SCHEDULE_MIN_LEAD,
    Publish,
    asset_is_playable,
)
from apps.content.services.accounts import content_purge_user, content_recount
from apps.content.services.captions import _apply_caption, _parse
from apps.content.services.derived import post_clear_derived, post_set_derived
from apps.content.services.posts import (
    post_create,
    post_create_once,
    post_delete,
    post_pin,
    post_unpin,
    post_update,
)
from apps.content.services.public_media import account_privacy_changed, posts_public_media_changed
from apps.content.services.publishing import (
    posts_hold_for_failed_asset,
    posts_publish_due,
    posts_publish_for_asset,
)
from apps.content.services.removal import (
    post_reinstate,
    post_release_from_review,
    post_remove,
    post_set_moderation_flags,
    sound_set_taken_down,
)
from apps.content.services.sounds import sound_set_reuse, sounds_sync_muted, sounds_take_down
from apps.content.services.versions import post_switch_asset

__all__ = [
    "PIN_LIMIT",
    "PUBLISH_DUE_BATCH",
    "SCHEDULE_MAX_LEAD",
    "SCHEDULE_MIN_LEAD",
    "Publish",
    "_apply_caption",
    "_parse",
    "account_privacy_changed",
    "asset_is_playable",
    "content_purge_user",
    "content_recount",
    "post_clear_derived",
    "post_create",
    "post_create_once",
    "post_delete",
    "post_pin",
    "post_reinstate",
    "post_release_from_review",
    "post_remove",
    "post_set_derived",
    "post_set_moderation_flags",
    "post_switch_asset",
    "post_unpin",
    "post_update",
    "posts_hold_for_failed_asset",
    "posts_public_media_changed",
    "posts_publish_due",
    "posts_publish_for_asset",
    "sound_set_reuse",
    "sound_set_taken_down",
    "sounds_sync_muted",
    "sounds_take_down",
]
