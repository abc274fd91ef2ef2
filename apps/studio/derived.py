"""Duets and stitches: the one rule for which posts may be borrowed.

A creator may duet or stitch a post only when all of these hold (`borrow_refusal`):
- they may see it (`content.selectors.get_post_for`, the visibility rule: not blocked
  either way, and the rest);
- anyone may watch it signed out (`content.selectors.publicly_watchable_q`): published,
  `public` visibility, a public account, not age-restricted; so never a draft, a removed
  post, a private or friends-only one; what a duet or stitch shows, everyone who can see
  the new post sees;
- its creator allows it (`Post.allow_duet` / `allow_stitch`);
- its creator is not a protected minor (`content.audience.remix_refusal`).

The document's database check (`selectors.document_refusals`) refuses anything else before
an edit is stored, previewed or rendered, and the render checks again. The same rule,
asked again for the derived post's creator, decides when a published duet or stitch loses
its borrowed part (`apps.studio.takedown`).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.accounts.models import User
from apps.content import audience
from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.core.errors import NotFoundError
from apps.studio.graph import Source

NOUN = {"duet": "dueted", "stitch": "stitched"}


@dataclass(frozen=True)
class Original:
    """A post that may be borrowed, with what the render and the editor need."""

    post: Post
    kind: str

    @property
    def asset_id(self) -> int:
        return int(self.post.asset_id)

    @property
    def duration_ms(self) -> int:
        return int(self.post.asset.duration_ms or 0)


def borrow_refusal(user: User, post_id: int, kind: str) -> tuple[Original | None, str | None]:
    """(the original, None) when `user` may make a `kind` ("duet" or "stitch") of the
    post, else (None, why in words). Two queries."""
    done = NOUN[kind]
    try:
        post = content_selectors.get_post_for(viewer=user, post_id=post_id)
    except NotFoundError:
        return None, "That video doesn't exist or you can't see it."
    if post.status == Post.Status.REMOVED:
        return None, f"That video was removed, so it can't be {done}."
    if post.status != Post.Status.PUBLISHED:
        return None, f"Only published videos can be {done}; that one isn't out yet."
    if post.visibility == Post.Visibility.PRIVATE:
        return None, f"That video is private, so it can't be {done}."
    if post.visibility == Post.Visibility.FRIENDS:
        return None, f"That video is for friends only, so it can't be {done}."
    if not Post.objects.filter(content_selectors.publicly_watchable_q(), pk=post.pk).exists():
        return None, f"That video isn't public, so it can't be {done}."
    allowed = post.allow_duet if kind == "duet" else post.allow_stitch
    if not allowed:
        return None, f"@{post.author.username} doesn't allow this video to be {done}."
    minor = audience.remix_refusal(post.author)
    if minor is not None:
        return None, minor.message
    post = Post.objects.select_related("author", "asset").get(pk=post.pk)
    return Original(post=post, kind=kind), None


def source_refusals(user: User, *, kind: str, post_id: int, out_ms: int) -> dict[str, list[str]]:
    """The document's `source` checked against the database (empty: fine)."""
    original, why = borrow_refusal(user, post_id, kind)
    if original is None:
        return {"source.post_id": [why or "Not allowed."]}
    if kind == "stitch" and out_ms > original.duration_ms:
        return {"source.out_ms": [f"Past the end of the original ({original.duration_ms} ms)."]}
    return {}


def borrowed_source(post_id: int) -> Source:
    """The original's video (its kept upload: picture and the creator's own sound) as a
    render input. Called after the document was checked."""
    from apps.media import services as media_services

    asset = Post.objects.select_related("asset").get(pk=post_id).asset
    return Source(path=media_services.asset_source_file(asset.pk),
                  has_audio=bool((asset.probe or {}).get("has_audio")))
