"""Who may reach whom: the audience rules for minors and restricted content, in one place.

The feed and content's own visibility rule call these; moderation only sets the flags they
read (`Post.age_restricted`, `Post.limited_reach`). The rules:

- Age-restricted posts never reach minors (under `SWIPEME_ADULT_AGE`) or signed-out viewers
  (whose age we do not know), on any surface.
- Limited-reach posts are never recommended (For You), but stay reachable by link/profile.
- Protected minors (under `SWIPEME_PROTECTED_MINOR_AGE`) are private by default and their
  posts are not recommended to strangers (people who do not follow them).

- Direct messages (`can_message`, `can_send_media`; messaging's policy calls them before
  every new conversation, added group member and message):
  - protected minors (under `SWIPEME_PROTECTED_MINOR_AGE`, 16) have no direct messages at
    all: they cannot send, receive, start or be added to a conversation;
  - minors from 16 to 17 message only friends (mutual follows), both ways: nobody else can
    start a conversation with them, add them to a group or keep writing to them one-to-one
    once the follow is gone; so an adult cannot start one with a minor who does not follow
    them back;
  - in a group (where a friend added the minor), a member who is not the minor's friend
    can write but not send photos or videos: no media from non-friends.
  An unknown age (no date of birth) counts as an adult here, as it does for the feed.

- Duets and stitches (`remix_refusal`, called by the studio's rule before any duet or
  stitch is saved or rendered, and again when it checks whether a derived post may keep
  its borrowed part): a protected minor's posts can never be dueted or stitched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.social.models import Follow

Viewer = User | AnonymousUser | None


def _years_ago(years: int, today: date | None = None) -> date:
    day = today or timezone.localdate()
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def is_protected_minor(user: User) -> bool:
    age = user.age_on(timezone.localdate())
    return age is not None and age < settings.SWIPEME_PROTECTED_MINOR_AGE


def may_see_age_restricted(viewer: Viewer) -> bool:
    if viewer is None or not viewer.is_authenticated:
        return False
    assert isinstance(viewer, User)
    age = viewer.age_on(timezone.localdate())
    return age is not None and age >= settings.SWIPEME_ADULT_AGE


def age_gate_q(viewer: Viewer, prefix: str = "") -> Q:
    """Posts the viewer may see as far as age goes (their own always)."""
    if may_see_age_restricted(viewer):
        return Q()
    gate = Q(**{f"{prefix}age_restricted": False})
    if viewer is not None and viewer.is_authenticated:
        gate |= Q(**{f"{prefix}author_id": viewer.pk})
    return gate


def protected_minor_author_q(prefix: str = "") -> Q:
    """Posts whose author is a protected minor (born after the cut-off date)."""
    cutoff = _years_ago(settings.SWIPEME_PROTECTED_MINOR_AGE)
    return Q(**{f"{prefix}author__date_of_birth__gt": cutoff})


def recommendable_q(viewer: Viewer, prefix: str = "") -> Q:
    """The extra rule for recommendation surfaces (For You, suggested): on top of
    `content.selectors.visible_to_q`, never limited-reach posts, and protected minors'
    posts only to people who follow them."""
    rule = Q(**{f"{prefix}limited_reach": False}) & age_gate_q(viewer, prefix)
    if viewer is None or not viewer.is_authenticated:
        return rule & ~protected_minor_author_q(prefix)
    follows = Exists(Follow.objects.filter(
        follower_id=viewer.pk, followee_id=OuterRef(f"{prefix}author_id")))
    return rule & (~protected_minor_author_q(prefix) | Q(follows)
                   | Q(**{f"{prefix}author_id": viewer.pk}))


def remix_refusal(author: User) -> Refusal | None:
    """Whether `author`'s posts may be dueted or stitched as far as age goes (None: yes).
    A protected minor's never are, whatever the post's own settings say."""
    if is_protected_minor(author):
        return Refusal("remix_minor", "Videos of people under 16 can't be dueted or "
                       "stitched.")
    return None


def private_by_default(user: User) -> bool:
    """New accounts of protected minors start private."""
    return is_protected_minor(user)


# --- direct messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a message may not go: a stable code and the words the sender reads."""

    code: str
    message: str


def are_friends(a_id: int, b_id: int) -> bool:
    """Mutual follows (one query)."""
    return Follow.objects.filter(
        Q(follower_id=a_id, followee_id=b_id) | Q(follower_id=b_id, followee_id=a_id)
    ).count() == 2


def can_use_messages(user: User) -> Refusal | None:
    """Direct messages at all: not under 16."""
    if is_protected_minor(user):
        return Refusal("messages_under_16", "Direct messages are not available to people "
                       "under 16.")
    return None


def can_message(sender: User, recipient: User) -> Refusal | None:
    """Whether `sender` may write to `recipient` one-to-one, start a conversation with them
    or add them to a group, as far as age goes (None: yes). Blocks and the recipient's own
    settings are messaging's policy, not an age rule."""
    refusal = can_use_messages(sender)
    if refusal is not None:
        return refusal
    if is_protected_minor(recipient):
        return Refusal("recipient_under_16", "This account can't receive direct messages.")
    if (sender.is_minor or recipient.is_minor) and not are_friends(sender.pk, recipient.pk):
        if sender.is_minor:
            return Refusal("minor_friends_only", "You can message only friends: people you "
                           "follow who follow you back.")
        return Refusal("recipient_friends_only", "This account accepts messages only from "
                       "friends (people they follow who follow them back).")
    return None


def can_send_media(sender: User, recipients: Iterable[User]) -> Refusal | None:
    """Photos and videos: never from a non-friend to a minor (in a group, where a friend
    added them, a non-friend can still write text)."""
    minors = [r.pk for r in recipients if r.pk != sender.pk and r.is_minor]
    if not minors:
        return None
    friends_of_sender = set(
        Follow.objects.filter(follower_id__in=minors, followee_id=sender.pk)
        .values_list("follower_id", flat=True)
    ) & set(
        Follow.objects.filter(follower_id=sender.pk, followee_id__in=minors)
        .values_list("followee_id", flat=True)
    )
    if set(minors) - friends_of_sender:
        return Refusal("media_friends_only", "Photos and videos can't be sent here: a member "
                       "under 18 receives them only from friends (people they follow who "
                       "follow them back).")
    return None
