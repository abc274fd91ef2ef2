"""A duet or stitch after it is published: credited, and its borrowed part taken out when
the original leaves public view.

- Published (content's post-published hook, `link_on_publish`): a post whose upload is a
  studio render of a document with a `source` credits the original
  (`content.services.post_set_derived`: "Duet with @x" on the API's post and the web).
- The original changed (content's changed hook for posts, `borrowed_changed`; accounts'
  changed hook: made private, deactivated, suspended, `account_changed`; social's blocked
  hook, either way, `pair_blocked`; all inside the writing transaction): the
  derived posts are sent to `tasks.check_borrowed` through the outbox (after the commit,
  surviving a broker outage).
- `borrowed_check_run` asks `derived.borrow_refusal` again, for the derived post's creator.
  Refused (removed by moderation, deleted, made private, friends-only, no longer allowing
  duets/stitches, blocked): the edit gets a new version, the document without the
  borrowed part (`document.without_source`: the creator's clips alone, their own sound),
  rendered by the same one-graph render into a new upload; the credit is cleared and the
  creator is told in words (`post_clear_derived`, whose hook notifications tells). The
  studio's switching (`switching.py`) then moves the post onto that upload once it is
  playable and checked, like any new version of a post; until then the post still plays
  the old upload.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from django.db import transaction
from django.db.models import Q

from apps.accounts.models import User
from apps.content import services as content_services
from apps.content.models import Post
from apps.core.outbox import enqueue_on_commit
from apps.studio import derived
from apps.studio.document import canonical, parse_structure, without_source
from apps.studio.models import Edit, EditVersion

logger = logging.getLogger(__name__)


def _borrowing_version(asset_id: int) -> EditVersion | None:
    """The studio version whose render a post plays, if it borrows from another post."""
    version = (EditVersion.objects.select_related("edit").filter(asset_id=asset_id)
               .order_by("-pk").first())
    if version is None or not (version.document or {}).get("source"):
        return None
    return version


def link_on_publish(*, post_id: int) -> None:
    """Content's post-published hook: credit the original of a duet or stitch, then have
    the check run (the original may have left public view since the render)."""
    asset_id = Post.objects.filter(pk=post_id).values_list("asset_id", flat=True).first()
    version = _borrowing_version(asset_id) if asset_id is not None else None
    if version is None:
        return
    source = version.document["source"]
    content_services.post_set_derived(post_id=post_id, original_id=int(source["post_id"]),
                                      kind=source["kind"])
    _queue_check([post_id])


def _queue_check(post_ids: Iterable[int]) -> None:
    from apps.studio.tasks import check_borrowed

    enqueue_on_commit(check_borrowed, sorted(set(post_ids)))


def borrowed_changed(*, kind: str, ids: Collection[int]) -> None:
    """Content's changed hook: posts changed; their duets and stitches are checked (one
    indexed query; nothing when none borrows from them)."""
    if kind != "post":
        return
    borrowers = list(Post.objects.filter(derived_from_id__in=list(ids))
                     .values_list("pk", flat=True))
    if borrowers:
        _queue_check(borrowers)


def account_changed(*, user_ids: Collection[int]) -> None:
    """Accounts' changed hook (privacy, deactivation, suspension, deletion scheduled):
    the duets and stitches of these accounts' posts are checked."""
    borrowers = list(Post.objects.filter(derived_from__author_id__in=list(user_ids))
                     .values_list("pk", flat=True))
    if borrowers:
        _queue_check(borrowers)


def pair_blocked(*, blocker_id: int, blocked_id: int) -> None:
    """Social's blocked hook: a block either way ends the one's duets and stitches of the
    other's posts (the creator may no longer see the original)."""
    borrowers = list(Post.objects.filter(
        Q(author_id=blocked_id, derived_from__author_id=blocker_id)
        | Q(author_id=blocker_id, derived_from__author_id=blocked_id))
        .values_list("pk", flat=True))
    if borrowers:
        _queue_check(borrowers)


def borrowed_check_run(post_ids: Iterable[int]) -> dict[int, str]:
    """For each post: "kept" (its original may still be borrowed), "stripping" (a render
    without the borrowed part was started) or "skipped" (nothing borrowed, or already
    being taken out)."""
    return {post_id: _check_one(post_id) for post_id in post_ids}


def _check_one(post_id: int) -> str:
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    version = _borrowing_version(post.asset_id) if post is not None else None
    if post is None or version is None:
        return "skipped"
    source = version.document["source"]
    original_id, kind = int(source["post_id"]), str(source["kind"])
    if post.derived_from_id == original_id:
        _, why = derived.borrow_refusal(post.author, original_id, kind)
        if why is None:
            return "kept"
    original_author_id = (Post.objects.filter(pk=original_id)
                          .values_list("author_id", flat=True).first())
    return _strip(post, version, original_author_id=original_author_id, kind=kind)


def _strip(post: Post, version: EditVersion, *, original_author_id: int | None,
           kind: str) -> str:
    """A new version of the post's edit without the borrowed part, rendered and switched
    like any edit of a post; the credit cleared and the creator told."""
    from apps.studio.tasks import render_version

    doc = without_source(parse_structure(version.document))
    with transaction.atomic():
        edit = Edit.objects.select_for_update().get(pk=version.edit_id)
        latest = edit.versions.order_by("-number").first()
        assert latest is not None
        if (latest.number > version.number and not (latest.document or {}).get("source")
                and latest.state in (EditVersion.State.RENDERING, EditVersion.State.RENDERED)):
            return "skipped"  # already being taken out
        if edit.post_id != post.pk:
            edit.post = post
            edit.save(update_fields=["post", "updated_at"])
        stripped = EditVersion.objects.create(
            edit=edit, number=latest.number + 1, document=canonical(doc),
            duration_ms=doc.duration_ms, state=EditVersion.State.RENDERING)
        enqueue_on_commit(render_version, stripped.pk)
        content_services.post_clear_derived(post_id=post.pk,
                                            original_author_id=original_author_id, kind=kind)
    logger.info("studio.borrowed_part_removed",
                extra={"post_id": post.pk, "version_id": stripped.pk, "kind": kind})
    return "stripping"


def original_for_editor(user: User, post_id: object, kind: str) -> derived.Original:
    """The original a creator is about to duet or stitch (the editor loads it); refused in
    words like the document would be."""
    from apps.content.selectors import parse_post_id
    from apps.core.errors import ApplicationError

    original, why = derived.borrow_refusal(user, parse_post_id(str(post_id)), kind)
    if original is None:
        raise ApplicationError(why or "Not allowed.", code="remix_refused",
                               fields={"post_id": [why or "Not allowed."]})
    return original
