"""The notification types: what each is called, which inbox tab shows it, how it groups,
its default on each channel, and whether preferences may turn it off.

A new type (direct messages, gifts, payouts) is one `register(NotificationType(...))` here
(or in the app that adds it, from its `ready()`); preferences, the API's matrix and the
inbox's tabs follow from the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    IN_APP = "in_app"
    PUSH = "push"
    EMAIL = "email"


class Tab(StrEnum):
    ALL = "all"
    LIKES = "likes"
    COMMENTS = "comments"
    MENTIONS = "mentions"
    FOLLOWERS = "followers"


# E-mail = "in the e-mail digest" (a weekly summary by default, never one mail per event).
ALL_ON = {Channel.IN_APP: True, Channel.PUSH: True, Channel.EMAIL: True}


@dataclass(frozen=True)
class NotificationType:
    name: str
    label: str  # for the preferences page: "Likes on your videos"
    tab: Tab | None = None  # None: shown under All only
    # Events of this type on the same target within `group_window` of the group's first
    # one become one notification ("maya and 41 others liked your video"); None: never.
    group_window: timedelta | None = None
    defaults: Mapping[Channel, bool] = field(default_factory=lambda: dict(ALL_ON))
    # Security and legal notices: preferences and quiet hours do not apply, and they
    # reach a suspended account (to read when it can sign in again).
    mandatory: bool = False
    # Counts against the sender's velocity budget (a new account liking hundreds of
    # posts does not ring hundreds of phones).
    velocity_limited: bool = False
    # E-mail goes at once (services.mail), not in the digest: a moderation decision is
    # told where the person looks, and a suspended or banned person cannot sign in.
    email_now: bool = False
    # Told to a suspended or banned account too (mandatory types always are): what
    # moderation decided about its videos is read when it can sign in, and e-mailed now.
    reaches_suspended: bool = False
    # The words of a type that a higher app registers (gifts, tips): fn(row, names) ->
    # (title, body), names being the actors' usernames by id (texts.who words a group);
    # None: texts.sentence knows the type.
    words: Callable[[Any, Mapping[int, str]], tuple[str, str]] | None = None

    @property
    def told_when_suspended(self) -> bool:
        return self.mandatory or self.reaches_suspended

    def default(self, channel: Channel) -> bool:
        return bool(self.defaults.get(channel, False))


_REGISTRY: dict[str, NotificationType] = {}


def stored_words(default_title: str) -> Callable[[Any, Mapping[int, str]], tuple[str, str]]:
    """The `words` of a type whose title and body were written when it was sent (kept in
    the row's data: an ad's review, a deal's thread line)."""
    def words(row: Any, names: Mapping[int, str]) -> tuple[str, str]:
        data = row.data or {}
        return str(data.get("title", default_title)), str(data.get("body", ""))

    return words


def register(kind: NotificationType) -> NotificationType:
    _REGISTRY[kind.name] = kind
    return kind


def get(name: str) -> NotificationType:
    return _REGISTRY[name]


def find(name: str) -> NotificationType | None:
    return _REGISTRY.get(name)


def all_types() -> list[NotificationType]:
    return list(_REGISTRY.values())


def names_for_tab(tab: Tab) -> list[str] | None:
    """The type names a tab shows; None for All."""
    if tab == Tab.ALL:
        return None
    return [kind.name for kind in _REGISTRY.values() if kind.tab == tab]


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
QUIET = {Channel.IN_APP: True, Channel.PUSH: False, Channel.EMAIL: False}

POST_LIKED = register(NotificationType(
    "post_liked", "Likes on your videos", Tab.LIKES, group_window=DAY,
    velocity_limited=True))
COMMENT_LIKED = register(NotificationType(
    "comment_liked", "Likes on your comments", Tab.LIKES, group_window=DAY, defaults=QUIET,
    velocity_limited=True))
COMMENT = register(NotificationType(
    "comment", "Comments on your videos", Tab.COMMENTS, velocity_limited=True))
REPLY = register(NotificationType(
    "reply", "Replies to your comments", Tab.COMMENTS, velocity_limited=True))
MENTION_POST = register(NotificationType(
    "mention_post", "Mentions in captions", Tab.MENTIONS, velocity_limited=True))
MENTION_COMMENT = register(NotificationType(
    "mention_comment", "Mentions in comments", Tab.MENTIONS, velocity_limited=True))
FOLLOW = register(NotificationType(
    "follow", "New followers", Tab.FOLLOWERS, group_window=DAY, velocity_limited=True))
FOLLOW_REQUEST = register(NotificationType(
    "follow_request", "Follow requests", Tab.FOLLOWERS, velocity_limited=True))
FOLLOW_ACCEPTED = register(NotificationType(
    "follow_accepted", "Accepted follow requests", Tab.FOLLOWERS))
NEW_POST = register(NotificationType(
    "new_post", "New videos from creators you chose", group_window=HOUR))
SOUND_USED = register(NotificationType(
    "sound_used", "Videos using your sound", group_window=DAY, defaults=QUIET,
    velocity_limited=True))
POST_REMIXED = register(NotificationType(
    "post_remixed", "Duets and stitches of your videos", group_window=DAY,
    velocity_limited=True))
# Moderation's notices (apps.moderation Notice rows and report outcomes, announced through
# moderation.notice_hooks). What counts against the account, and appeal outcomes, are
# mandatory; what happened to one video, comment or sound follows the person's choices
# (a removal is e-mailed by default; a limit that leaves the video up is not).
MODERATION_REMOVAL = register(NotificationType(
    "moderation_removal", "Removals of your videos, comments and sounds", email_now=True,
    reaches_suspended=True))
MODERATION_LIMIT = register(NotificationType(
    "moderation_limit", "Restrictions on your videos (age, comments, search), and restorations",
    email_now=True, reaches_suspended=True,
    defaults={Channel.IN_APP: True, Channel.PUSH: True, Channel.EMAIL: False}))
MODERATION_ACCOUNT = register(NotificationType(
    "moderation_account", "Strikes, limits, suspensions and bans of your account",
    mandatory=True, email_now=True))
APPEAL_DECIDED = register(NotificationType(
    "appeal_decided", "Decisions on your appeals", mandatory=True, email_now=True))
REPORT_OUTCOME = register(NotificationType(
    "report_outcome", "What came of your reports", defaults=QUIET))
MODERATION_TYPES = frozenset({MODERATION_REMOVAL.name, MODERATION_LIMIT.name,
                              MODERATION_ACCOUNT.name, APPEAL_DECIDED.name})
# A post that could not go out because media refused or could not process its upload (or
# a published one taken down when media refused its file later), announced by content's
# `post_upload_problem` hook: told like a removal (e-mailed at once by default, and to a
# suspended account too), the creator's own act (a cancelled upload) never.
UPLOAD_PROBLEM = register(NotificationType(
    "upload_problem", "Videos that could not be published or were taken down",
    email_now=True, reaches_suspended=True))
# A duet or stitch whose original left public view (content's
# `post_borrowed_part_removed` hook): the studio re-renders it without the borrowed part.
REMIX_ORIGINAL_GONE = register(NotificationType(
    "remix_original_gone", "Duets and stitches whose original was taken down",
    defaults={Channel.IN_APP: True, Channel.PUSH: True, Channel.EMAIL: False}))
# A direct message to someone with no live messages connection (apps.messaging): one
# notification per conversation while unread ("maya sent you 3 messages"); the messaging
# app skips a muted conversation. Not in the e-mail digest by default.
DIRECT_MESSAGE = register(NotificationType(
    "direct_message", "Direct messages", group_window=DAY,
    defaults={Channel.IN_APP: True, Channel.PUSH: True, Channel.EMAIL: False}))
# Support resources (helplines) for someone whose caption, comment, bio or message read as
# self-harm (moderation's `support_offered` hook): never a punishment, not e-mailed or
# pushed by default (a phone's lock screen is not private): in the inbox.
SUPPORT_RESOURCES = register(NotificationType(
    "support_resources", "Support resources when you might be going through something hard",
    defaults={Channel.IN_APP: True, Channel.PUSH: False, Channel.EMAIL: False}))
SECURITY = register(NotificationType(
    "security", "Account security", mandatory=True,
    defaults={Channel.IN_APP: True, Channel.PUSH: True, Channel.EMAIL: True}))
