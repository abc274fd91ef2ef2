"""The safety gate over the shortlist and the page's posts with the viewer's flags, as
statements compiled once per viewer state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import BooleanField, Exists, OuterRef, QuerySet, Value
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.content.audience import recommendable_q
from apps.content.models import Post
from apps.content.selectors import for_display, visible_posts_for, without_muted_authors
from apps.core import compiled_sql
from apps.engagement.models import Favourite, Like
from apps.social.models import Follow


def allowed(viewer: User | None, post_ids: list[int]) -> set[int]:
    """The safety gate, in SQL over the shortlist: visibility (removed, private, blocks),
    recommendation rules (limited reach, age-restricted for minors, protected minors),
    mutes."""
    if not post_ids:
        return set()

    def build(ids: Any) -> QuerySet[Any]:
        qs = visible_posts_for(viewer=viewer).filter(
            recommendable_q(viewer), pk__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)))
        return without_muted_authors(qs, viewer=viewer).values_list("pk", flat=True)

    return set(_run_compiled(viewer, ("gate",), build, post_ids))


def _run_compiled(viewer: User | None, kind: tuple[Any, ...],
                  build: Callable[[Any], QuerySet[Any]], value: Any) -> list[int]:
    """A viewer's statement, compiled once per viewer state (every field of their row, so
    whatever rule reads about them), day (age cut-offs) and kind: building these through
    the ORM cost more than running them, on every page. Relations (blocks, mutes,
    follows) are EXISTS subqueries, read when the statement runs."""
    key = (kind, compiled_sql.viewer_key(viewer))
    return [int(pk) for pk in compiled_sql.run(key, build, value)]


def hydrate(viewer: User | None, post_ids: list[int]) -> dict[int, Post]:
    """The page's posts as the API shows them, with the viewer's flags. Only the few
    posts on the page (the gate ran on the shortlist); one still published."""
    qs = Post.objects.filter(pk__in=post_ids, status=Post.Status.PUBLISHED)
    return {post.pk: post for post in with_viewer_flags(for_display(qs), viewer)}


def with_viewer_flags(qs: QuerySet[Post], viewer: User | None) -> QuerySet[Post]:
    if viewer is None:
        false = Value(False, output_field=BooleanField())
        return qs.annotate(viewer_liked=false, viewer_favourited=false,
                           viewer_follows_author=false)
    return qs.annotate(
        viewer_liked=Exists(Like.objects.filter(user_id=viewer.pk, post_id=OuterRef("pk"))),
        viewer_favourited=Exists(Favourite.objects.filter(user_id=viewer.pk,
                                                          post_id=OuterRef("pk"))),
        viewer_follows_author=Exists(Follow.objects.filter(follower_id=viewer.pk,
                                                           followee_id=OuterRef("author_id"))),
    )
