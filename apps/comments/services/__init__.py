"""Comment writes. Keyword-only, one transaction each.

Callers pass a post obtained from `apps.content.selectors.get_post_for(viewer=...)`, or a
comment from `apps.comments.selectors.get_comment_for` (the permission checks); services
re-read and lock the rows they change.

Counters (`Post.comments_count`: the post's comments in status `visible`;
`Comment.replies_count`: a top-level comment's visible replies; `Comment.likes_count`) move
with F() only, in the transaction that changes the rows, and only by what that transaction
changed: status changes are compare-and-set updates (`filter(status=old).update(...)`), so
two racing deletes or hides count once; likes count what `get_or_create` / `delete()` did.

One module per use case: `create` (comments and replies, the Idempotency-Key retry),
`delete` (by the author or creator; moderation's removal and restore), `moderation` (the
creator hides, approves or rejects held comments), `pins`, `likes`, `filters` (keyword
filters and commenter bans), `reconcile` (counter repair), `accounts` (a user's comments
purged and exported); `_common` holds the rank, the row lock and the status
compare-and-set. This package re-exports the names callers use.
"""

from apps.comments.services._common import COMMENT_NOT_FOUND, rank_for
from apps.comments.services.accounts import comments_export_user, comments_purge_user
from apps.comments.services.create import (
    check_can_comment,
    clean_text,
    comment_create,
    comment_create_once,
)
from apps.comments.services.delete import comment_delete, comment_remove, comment_restore
from apps.comments.services.filters import (
    MAX_FILTER_KEYWORDS,
    MAX_KEYWORD_LENGTH,
    comment_filter_create,
    comment_filter_delete,
    commenter_ban_create,
    commenter_ban_delete,
    matches_filter,
)
from apps.comments.services.likes import comment_like_create, comment_like_delete
from apps.comments.services.moderation import (
    comment_hide,
    comment_unhide,
    held_comment_approve,
    held_comment_reject,
)
from apps.comments.services.pins import comment_pin, comment_unpin
from apps.comments.services.reconcile import comment_counters_reconcile

__all__ = [
    "COMMENT_NOT_FOUND",
    "MAX_FILTER_KEYWORDS",
    "MAX_KEYWORD_LENGTH",
    "check_can_comment",
    "clean_text",
    "comment_counters_reconcile",
    "comment_create",
    "comment_create_once",
    "comment_delete",
    "comment_filter_create",
    "comment_filter_delete",
    "comment_hide",
    "comment_like_create",
    "comment_like_delete",
    "comment_pin",
    "comment_remove",
    "comment_restore",
    "comment_unhide",
    "comment_unpin",
    "commenter_ban_create",
    "commenter_ban_delete",
    "comments_export_user",
    "comments_purge_user",
    "held_comment_approve",
    "held_comment_reject",
    "matches_filter",
    "rank_for",
]
