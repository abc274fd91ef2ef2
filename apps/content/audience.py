"""Who may reach whom: the audience rules for minors and restricted content, in one place.

The feed and content's own visibility rule call these; moderation only sets the flags they
read (`Post.age_restricted`, `Post.limited_reach`). The rules:

- Age-restricted posts never reach minors (under `SWIPEME_ADULT_AGE`) or signed-out viewers
  (whose age we do not know), on any surface.
- Limited-reach posts are never recommended (For You), but stay reachable by link/profile.
- Protected minors (under `SWIPEME_PROTECTED_MINOR_AGE`) are private by default and their
  posts are not recommended to strangers (people who do not follow them).

Direct messages and duets/stitches do not exist yet; when they are built, their rule for
protected minors (no messages from anyone who is not a mutual follow, no duets or stitches
of their posts) belongs here, called by those features' services.
"""

from __future__ import annotations

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


def private_by_default(user: User) -> bool:
    """New accounts of protected minors start private."""
    return is_protected_minor(user)
