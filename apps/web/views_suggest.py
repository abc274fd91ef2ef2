"""Read-only suggestions for the caption editor: `GET /web/suggest/hashtags?q=` and
`GET /web/suggest/users?q=` (signed-in users only; throttled per user).

Users suggested for an @mention are the ones a mention would reach: discoverable accounts
with no block either way with the viewer (the rule `content.services` applies to mentions),
people the viewer follows first. Hashtags are existing tags by prefix, the most used first.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.content.models import HASHTAG_MAX_LENGTH, Hashtag, Sound
from apps.content.selectors import usable_library_sounds_for
from apps.core.throttles import PerCallerThrottle
from apps.social.models import Follow
from apps.social.selectors import blocked_either_way, discoverable_q
from apps.web.pages import avatar_url

LIMIT = 8


class SuggestThrottle(PerCallerThrottle):
    """Every keystroke (debounced by the page) is a request: its own per-user budget."""

    scope = "web_suggest"
    rate = "120/min"


def _query(request: Request, *, prefix: str) -> str:
    """The typed word without its sigil; at most a tag's length, no NUL (a DataError)."""
    q = str(request.query_params.get("q", "")).strip().removeprefix(prefix)
    return q[:HASHTAG_MAX_LENGTH].replace("\x00", "")


class _SuggestApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [SuggestThrottle]


class HashtagSuggestApi(_SuggestApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        q = _query(request, prefix="#")
        if not q:
            return Response({"results": []})
        tags = (Hashtag.objects.alias(lname=Lower("name"))
                .filter(lname__startswith=q.lower())
                .order_by("-posts_count", "name")[:LIMIT])
        return Response({"results": [{"name": t.name, "posts_count": t.posts_count}
                                     for t in tags]})


def mentionable_users_for(viewer: User, q: str) -> QuerySet[User]:
    blocked = blocked_either_way(viewer.pk)  # social's one block rule
    followed = Exists(Follow.objects.filter(follower_id=viewer.pk, followee_id=OuterRef("pk")))
    return (User.objects.alias(lname=Lower("username"), ldisplay=Lower("display_name"))
            .filter(Q(lname__startswith=q.lower()) | Q(ldisplay__startswith=q.lower()))
            .filter(discoverable_q())
            .exclude(blocked)
            .annotate(followed=followed)
            .order_by("-followed", "-followers_count", "username")
            .only("id", "username", "display_name", "avatar_sizes", "is_verified"))


class UserSuggestApi(_SuggestApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        q = _query(request, prefix="@")
        if not q:
            return Response({"results": []})
        viewer = request.user
        assert isinstance(viewer, User)
        users = mentionable_users_for(viewer, q)[:LIMIT]
        rows: list[dict[str, Any]] = [
            {"id": str(u.pk), "username": u.username, "display_name": u.display_name,
             "avatar": avatar_url(u, "48"), "is_verified": u.is_verified}
            for u in users
        ]
        return Response({"results": rows})


def library_sounds_for(viewer: User, *, limit: int) -> list[Sound]:
    """Library sounds a new post by the viewer may use (content's one rule,
    `content.selectors.sound_use_refusal`)."""
    return usable_library_sounds_for(viewer, limit=limit)
