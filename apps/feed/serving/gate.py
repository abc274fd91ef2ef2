"""The safety gate over the shortlist and the page's posts with the viewer's flags, as
statements compiled once per kind of viewer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import BooleanField, Exists, OuterRef, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.accounts.models import User
from apps.content.audience import recommendable_q
from apps.content.models import Post
from apps.content.selectors import (
    for_display,
    viewer_kind,
    visible_posts_for,
    without_muted_authors,
)
from apps.core import compiled_sql
from apps.engagement.models import Favourite, Like
from apps.social.models import Follow


def allowed(viewer: User | None, post_ids: list[int]) -> set[int]:
    """The safety gate, in SQL over the shortlist: visibility (removed, private, blocks),
    recommendation rules (limited reach, age-restricted for minors, protected minors),
    mutes."""
    if not post_ids:
        return set()

    def build(who: User | None, ids: Any) -> QuerySet[Any]:
        qs = visible_posts_for(viewer=who).filter(
            recommendable_q(who), pk__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)))
        return without_muted_authors(qs, viewer=who).values_list("pk", flat=True)

    return set(_run_compiled(viewer, ("gate",), build, post_ids))


def _run_compiled(viewer: User | None, kind: tuple[Any, ...],
                  build: Callable[[Any, Any], QuerySet[Any]], value: Any) -> list[int]:
    """A statement built from content's rules about `viewer` (`build(who, slot)`), compiled
    once per kind of viewer (`content.selectors.viewer_kind`: signed in, may see
    age-restricted posts, the day) and kind of statement, with the viewer's id and `value`
    bound: building these through the ORM cost more than running them, and compiling them
    per viewer cost a viewer's first page ~4 ms more. Relations (blocks, mutes, follows,
    memberships) are EXISTS subqueries, read when the statement runs."""
    key = ("feed", kind, viewer_kind(viewer))
    return [int(pk) for pk in compiled_sql.run_for_viewer(key, build, viewer, value)]


def hydrate(viewer: User | None, post_ids: list[int]) -> dict[int, Post]:
    """The page's posts as the API shows them, with the viewer's flags. Only the few
    posts on the page (the gate ran on the shortlist); one still published. One statement
    per kind of viewer (signed in or not), compiled once, with the ids and the viewer bound
    (building and compiling it through the ORM cost more than reading the rows)."""
    if not post_ids:
        return {}

    def build(ids: Any, me: Any = None) -> QuerySet[Post]:
        qs = for_display(Post.objects.filter(
            pk__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)), status=Post.Status.PUBLISHED))
        return _flags(qs, None if me is None else RawSQL("%s::bigint", (me,)))

    day = timezone.localdate()  # as the gate's key: a rule may read the date
    if viewer is None:
        found = compiled_sql.instances(("hydrate", "signed out", day), build, list(post_ids))
    else:
        found = compiled_sql.instances(("hydrate", "signed in", day), build, list(post_ids),
                                       int(viewer.pk))
    return {post.pk: post for post in found}


def with_viewer_flags(qs: QuerySet[Post], viewer: User | None) -> QuerySet[Post]:
    return _flags(qs, None if viewer is None else viewer.pk)


def _flags(qs: QuerySet[Post], viewer_id: Any) -> QuerySet[Post]:
    """`viewer_liked`, `viewer_favourited`, `viewer_follows_author` of the viewer with this
    id (a value or an SQL expression); all False signed out."""
    if viewer_id is None:
        false = Value(False, output_field=BooleanField())
        return qs.annotate(viewer_liked=false, viewer_favourited=false,
                           viewer_follows_author=false)
    return qs.annotate(
        viewer_liked=Exists(Like.objects.filter(user_id=viewer_id, post_id=OuterRef("pk"))),
        viewer_favourited=Exists(Favourite.objects.filter(user_id=viewer_id,
                                                          post_id=OuterRef("pk"))),
        viewer_follows_author=Exists(Follow.objects.filter(follower_id=viewer_id,
                                                           followee_id=OuterRef("author_id"))),
    )
