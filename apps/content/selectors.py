"""Reads of posts, hashtags and sounds.

Who may see a post (one rule, applied in SQL by `visible_posts_for` and by every
`get_*_for` built on it):

- the author sees their own posts in every status, `removed` too: a creator is told what
  moderation removed and why, and may appeal (pages mark it removed; liking, commenting,
  editing and feeds need `published` on top of this rule);
- everyone else sees a post only when it is `published`, its author is discoverable
  (active, not deactivated, not pending deletion), neither side blocked the other, the
  author's account is public or the viewer is an approved follower, and the post's
  visibility allows it: `public`, `friends` (the viewer and the author follow each other),
  `private` (nobody but the author), `subscribers` (the viewer holds a current
  `social.Membership` of the author: `until` in the future. Monetization's subscriptions
  write it — through the paid period and its grace — and end it; a lapsed row grants
  nothing even if no task ran). Signed out, only `public` posts show, so subscriber-only
  media is never publicly watchable: it is served through signed URLs to members only.

Anything a viewer may not see is a 404 (`NotFoundError`): a post they may not see does not
exist for them. Mutes are not applied here (a muted author's post can still be opened by its
link); feeds and lists that should hide muted people filter with `without_muted_authors`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Set
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.models import User
from apps.content.audience import age_gate_q, may_see_age_restricted
from apps.content.hooks import sound_in_asset
from apps.content.models import HASHTAG_MAX_LENGTH, Hashtag, Post, PostHashtag, Sound
from apps.core.errors import ForbiddenError, NotFoundError
from apps.core.ids import id_or_404
from apps.media.hooks import AssetRecipe, PlaybackWanted
from apps.social.models import Block, Follow, Mute
from apps.social.selectors import (
    SUMMARY_FIELDS,
    USER_NOT_FOUND,
    current_membership,
    discoverable_q,
    users_by_username,
)

POST_NOT_FOUND = "Post not found."

AUTHOR_OWN_STATUSES = (
    Post.Status.DRAFT,
    Post.Status.SCHEDULED,
    Post.Status.PROCESSING,
    Post.Status.REVIEWING,
    Post.Status.PUBLISHED,
    Post.Status.REMOVED,  # shown to its author as removed, with the reason (web, API)
)


def _viewer_id(viewer: User | AnonymousUser | None) -> int | None:
    if viewer is None or not viewer.is_authenticated:
        return None
    return int(viewer.pk)


def visible_to_q(viewer: User | AnonymousUser | None, prefix: str = "") -> Q:
    """The visibility rule as a Q over `Post` (or over a model reaching a post through
    `prefix`, e.g. "post__" from a comment or a like). No per-row queries: follows and
    blocks are EXISTS subqueries."""
    author_id = OuterRef(f"{prefix}author_id")
    others = (
        Q(**{f"{prefix}status": Post.Status.PUBLISHED})
        & discoverable_q(f"{prefix}author__")
    )
    others &= age_gate_q(viewer, prefix)
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return others & Q(**{
            f"{prefix}visibility": Post.Visibility.PUBLIC,
            f"{prefix}author__is_private": False,
        })
    follows_author = Exists(Follow.objects.filter(follower_id=viewer_id, followee_id=author_id))
    followed_back = Exists(Follow.objects.filter(follower_id=author_id, followee_id=viewer_id))
    blocked = Exists(Block.objects.filter(
        Q(blocker_id=viewer_id, blocked_id=author_id)
        | Q(blocker_id=author_id, blocked_id=viewer_id)
    ))
    others &= ~Q(blocked)
    others &= Q(**{f"{prefix}author__is_private": False}) | Q(follows_author)
    member = current_membership(member=viewer_id, creator=author_id)
    others &= (
        Q(**{f"{prefix}visibility": Post.Visibility.PUBLIC})
        | Q(Q(**{f"{prefix}visibility": Post.Visibility.FRIENDS}), follows_author, followed_back)
        | Q(Q(**{f"{prefix}visibility": Post.Visibility.SUBSCRIBERS}), member)
    )
    own = Q(**{f"{prefix}author_id": viewer_id, f"{prefix}status__in": AUTHOR_OWN_STATUSES})
    return own | others


def viewer_kind(viewer: User | AnonymousUser | None) -> Hashable:
    """What the visibility rule and the rules built beside it (`visible_to_q`,
    `without_muted_authors`, `audience.age_gate_q`, `audience.recommendable_q`) read about a
    viewer *besides their id*: signed in or not, whether they may see age-restricted posts,
    and the day (the age cut-offs move with it). A statement built from these rules for one
    viewer serves every viewer of the same kind with only the id changed
    (`core.compiled_sql.statement_for_viewer`: the feed's safety gate and Following). A rule
    that starts reading anything else about the viewer adds it here; tests/feed/test_safety.py
    compiles the rules for viewers that differ in every other way and checks that the
    statements of one kind differ only in the id."""
    return (_viewer_id(viewer) is not None, may_see_age_restricted(viewer),
            timezone.localdate())


def visible_posts_for(*, viewer: User | AnonymousUser | None) -> QuerySet[Post]:
    """Every post the viewer may see (see the module docstring), as one SQL filter."""
    return Post.objects.filter(visible_to_q(viewer))


def visible_post_ids_for(*, viewer: object, post_ids: Set[int]) -> set[int]:
    """The ids among `post_ids` of posts the viewer may see (unknown ids are left out).
    One query however many ids: the event ingest asks this for every batch (through
    `apps.events.hooks`), with the request's user (signed in or anonymous)."""
    if not post_ids:
        return set()
    who = viewer if isinstance(viewer, User) and viewer.is_authenticated else None
    return set(visible_posts_for(viewer=who).filter(pk__in=list(post_ids))
               .values_list("pk", flat=True))


def without_muted_authors(
    posts: QuerySet[Post], *, viewer: User | AnonymousUser | None
) -> QuerySet[Post]:
    """Drop posts by people the viewer muted (their own posts stay)."""
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return posts
    return posts.exclude(
        Exists(Mute.objects.filter(muter_id=viewer_id, muted_id=OuterRef("author_id")))
    )


def derived_originals_for(*, viewer: User | AnonymousUser | None,
                          posts: Iterable[Post]) -> dict[int, Post]:
    """The originals that duets and stitches among `posts` credit and that the viewer may
    see (id -> post with its author): one query for a page, none when no post borrows."""
    ids = {post.derived_from_id for post in posts if post.derived_from_id is not None}
    if not ids:
        return {}
    return {post.pk: post for post in visible_posts_for(viewer=viewer).filter(pk__in=ids)
            .select_related("author")}


def parse_post_id(raw: str | int) -> int:
    """A post id from a URL or a body; anything that is not one is a 404, never a 500."""
    return id_or_404(raw, POST_NOT_FOUND)


# --- publicly watchable: the one rule behind stable (public, cacheable) media URLs ---------

PUBLICLY_WATCHABLE = "publicly_watchable"


def publicly_watchable_q(prefix: str = "") -> Q:
    """Posts anyone may watch without signing in: exactly what a signed-out viewer may see
    (so never age-restricted posts, private accounts, drafts or removed posts). Their media
    gets stable public URLs; every other post's media is served through signed URLs.
    The post API's playback URLs, the permalink page's link previews and media's public
    hook all decide with this."""
    return visible_to_q(None, prefix)


def promotable_q(prefix: str = "") -> Q:
    """Posts that may be run as an ad to strangers (a brand's spark ad of a creator's post):
    published, public, from a public and discoverable account, so never a draft, a removed
    or private post or a banned or private account's. The age gate is left to the ad's own
    targeting (an ad in a restricted category reaches adults only)."""
    return (Q(**{f"{prefix}status": Post.Status.PUBLISHED,
                 f"{prefix}visibility": Post.Visibility.PUBLIC,
                 f"{prefix}author__is_private": False})
            & discoverable_q(f"{prefix}author__"))


def with_public_flag(posts: QuerySet[Post]) -> QuerySet[Post]:
    """Annotate `publicly_watchable` (the rule above, computed in the same query)."""
    return posts.annotate(**{PUBLICLY_WATCHABLE: ExpressionWrapper(
        publicly_watchable_q(), output_field=BooleanField())})


def public_version_of(post: Post) -> int | None:
    """The post's public media version when anyone may watch it, else None (its media is
    then served through signed URLs only). Reads the `with_public_flag` annotation that
    `for_display` adds; a post loaded otherwise costs one query."""
    flag = getattr(post, PUBLICLY_WATCHABLE, None)
    if flag is None:
        flag = Post.objects.filter(publicly_watchable_q(), pk=post.pk).exists()
    return post.public_version if flag else None


def asset_public_version(*, asset_id: int) -> int | None:
    """Media asks this (through its public-asset hook) before serving without a signed
    URL: the public version of the post using the asset when anyone may watch it, else
    None. One query."""
    return (Post.objects.filter(publicly_watchable_q(), asset_id=asset_id)
            .values_list("public_version", flat=True).first())


def asset_media_recipe(*, asset_id: int) -> AssetRecipe | None:
    """Media asks this (through its recipe hook) how to render an upload: the sound the
    post on it chose (a library sound's file, or another upload's extracted audio) mixed
    as the creator chose (keep, duck or mute the upload's own audio), and the cover
    frame. A sound taken down or whose licence lapsed is left out: muted where it
    played (with `mute`, the video goes silent). A sound already in the upload's audio
    (`hooks.sound_in_asset`: a studio render with it) is credited only. One query (two
    with a sound)."""
    post = Post.objects.filter(asset_id=asset_id).select_related("sound").first()
    if post is None:
        return None
    sound = post.sound
    sound_file, sound_asset_id = None, None
    if sound is not None and sound_in_asset(asset_id=asset_id, sound_id=sound.pk):
        # already in the upload's audio (a studio render): credited, not mixed in again
        return AssetRecipe(cover_time_ms=post.cover_time_ms)
    if sound is not None and sound.pk != post.original_sound_id and sound.is_usable():
        if sound.kind == Sound.Kind.LIBRARY and sound.audio_file:
            sound_file = sound.audio_file.name
        elif sound.kind == Sound.Kind.ORIGINAL and sound.source_asset_id not in (None, asset_id):
            sound_asset_id = sound.source_asset_id
    return AssetRecipe(sound_file=sound_file, sound_asset_id=sound_asset_id,
                       sound_mix=post.sound_mix, cover_time_ms=post.cover_time_ms)


def asset_playback_wanted(*, asset_id: int) -> PlaybackWanted | None:
    """Media asks this (its playback hook) when someone will first wait to play an
    upload: a draft's or a removed post's never (None inside), a scheduled post's at its
    time, any other post's now. No post on it: no opinion. One query."""
    post = Post.objects.filter(asset_id=asset_id).values("status", "scheduled_for").first()
    if post is None:
        return None
    if post["status"] in (Post.Status.DRAFT, Post.Status.REMOVED):
        return PlaybackWanted(at=None)
    if post["status"] == Post.Status.SCHEDULED and post["scheduled_for"] is not None:
        return PlaybackWanted(at=post["scheduled_for"])
    return PlaybackWanted(at=timezone.now())


def get_post_for(*, viewer: User | AnonymousUser | None, post_id: int | str) -> Post:
    """The post, with its author, if the viewer may see it; NotFoundError otherwise.
    One query."""
    post = (
        visible_posts_for(viewer=viewer)
        .filter(pk=parse_post_id(post_id))
        .select_related("author")
        .first()
    )
    if post is None:
        raise NotFoundError(POST_NOT_FOUND)
    return post


# --- pages: post detail, profile grid, hashtag, sound --------------------------------------

HASHTAG_NOT_FOUND = "Hashtag not found."
SOUND_NOT_FOUND = "Sound not found."


def for_display(posts: QuerySet[Post]) -> QuerySet[Post]:
    """What a rendered post reads, joined once: author, asset (media block), sound, and
    whether anyone may watch it (public or signed media URLs)."""
    return with_public_flag(posts.select_related("author", "asset", "sound"))


def get_post_detail_for(*, viewer: User | AnonymousUser | None, post_id: int | str) -> Post:
    """`get_post_for` with everything the post output shows. One query."""
    post = for_display(visible_posts_for(viewer=viewer)).filter(
        pk=parse_post_id(post_id)).first()
    if post is None:
        raise NotFoundError(POST_NOT_FOUND)
    return post


@dataclass(frozen=True)
class ProfileGrid:
    owner: User
    pinned: QuerySet[Post]  # up to three, most recently pinned first; read on the first page
    posts: QuerySet[Post]  # the rest, to be paged newest first


def get_profile_grid_for(*, viewer: User | AnonymousUser | None, username: str) -> ProfileGrid:
    """A user's posts as their profile shows them to the viewer. 404 when the account is
    unknown, not discoverable or blocked either way; 403 for a private account's posts
    unless the viewer is an approved follower (the same answers as the social lists)."""
    viewer_id = _viewer_id(viewer)
    owners = users_by_username(username).filter(discoverable_q(viewer_id=viewer_id))
    if viewer_id is not None:
        owners = owners.filter(
            Q(pk=viewer_id) | ~Q(Exists(Block.objects.filter(
                Q(blocker_id=viewer_id, blocked_id=OuterRef("pk"))
                | Q(blocker_id=OuterRef("pk"), blocked_id=viewer_id)
            )))
        ).annotate(viewer_follows=Exists(
            Follow.objects.filter(follower_id=viewer_id, followee_id=OuterRef("pk"))))
    owner = owners.only(*SUMMARY_FIELDS).first()
    if owner is None:
        raise NotFoundError(USER_NOT_FOUND)
    if owner.is_private and owner.pk != viewer_id and not getattr(owner, "viewer_follows", False):
        raise ForbiddenError(
            "This account is private: only its approved followers see its posts.",
            code="private_account",
        )
    mine = for_display(visible_posts_for(viewer=viewer).filter(author_id=owner.pk))
    return ProfileGrid(
        owner=owner,
        pinned=mine.filter(pinned_at__isnull=False).order_by("-pinned_at")[:3],
        posts=mine.filter(pinned_at__isnull=True),
    )


def get_hashtag(*, name: str) -> Hashtag:
    """A hashtag by name, without regard to case (and with or without its '#')."""
    name = name.removeprefix("#")
    if not name or len(name) > HASHTAG_MAX_LENGTH or "\x00" in name:
        raise NotFoundError(HASHTAG_NOT_FOUND)
    tag = Hashtag.objects.alias(lname=Lower("name")).filter(lname=name.lower()).first()
    if tag is None:
        raise NotFoundError(HASHTAG_NOT_FOUND)
    return tag


def hashtag_names_by_post(post_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each post's hashtag names, lower-cased (one indexed query; posts without any are
    absent). Any status: what someone watched keeps its tags after it is taken down."""
    out: dict[int, list[str]] = {}
    rows = (PostHashtag.objects.filter(post_id__in=list(post_ids))
            .values_list("post_id", Lower("hashtag__name")))
    for post_id, name in rows:
        out.setdefault(int(post_id), []).append(str(name))
    return out


def hashtag_posts_for(*, viewer: User | AnonymousUser | None, hashtag: Hashtag) -> QuerySet[Post]:
    posts = visible_posts_for(viewer=viewer).filter(
        Exists(PostHashtag.objects.filter(hashtag_id=hashtag.pk, post_id=OuterRef("pk"))))
    return for_display(without_muted_authors(posts, viewer=viewer))


def sound_visible_q(viewer: User | AnonymousUser | None) -> Q:
    """Sounds the viewer may hear: a library sound, or an original sound that is theirs or
    that a post they may see uses (EXISTS subqueries, no per-row queries)."""
    used_visibly = Exists(visible_posts_for(viewer=viewer).filter(
        Q(sound_id=OuterRef("pk")) | Q(original_sound_id=OuterRef("pk"))))
    rule = Q(kind=Sound.Kind.LIBRARY) | Q(used_visibly)
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None:
        rule |= Q(original_owner_id=viewer_id)
    return rule


def get_sound_for(*, viewer: User | AnonymousUser | None, sound_id: int | str) -> Sound:
    """A library sound, or an original sound the viewer may hear: their own, or one that a
    post they may see uses. One query."""
    try:
        pk = parse_post_id(sound_id)
    except NotFoundError:
        raise NotFoundError(SOUND_NOT_FOUND) from None
    sound = (Sound.objects.filter(sound_visible_q(viewer), pk=pk)
             .select_related("original_owner", "source_asset").first())
    if sound is None:
        raise NotFoundError(SOUND_NOT_FOUND)
    return sound


# --- may this sound go on a new post: the one rule -----------------------------------------


@dataclass(frozen=True)
class SoundRefusal:
    """Why a sound may not go on a new post: the API error the create service raises."""

    code: str
    message: str
    status_code: int
    field_message: str


def sound_use_refusal(sound: Sound, *, user: User | AnonymousUser | None,
                      now: datetime | None = None) -> SoundRefusal | None:
    """Why `user` may not put `sound` on a new post, or None when they may: an original
    sound is theirs or its owner allows reuse; a library sound's licence covers posts;
    the sound is usable (not taken down, licence current) and licensed in the user's
    country (unknown: worldwide licences only). The one rule: the create service enforces
    it, and the sound API's `usable`, the sound page and the upload page show it. Whether
    the user may see the sound at all is asked first (`get_sound_for`)."""
    if sound.kind == Sound.Kind.ORIGINAL:
        if sound.original_owner_id != _viewer_id(user) and not sound.allow_reuse:
            return SoundRefusal("sound_reuse_not_allowed",
                                "The owner of this sound does not allow others to use it.",
                                403, "Reuse not allowed.")
    elif not sound.allows_use(Sound.Use.POSTS):
        return SoundRefusal("sound_use_not_allowed", "This sound's licence does not cover posts.",
                            400, "Not licensed for posts.")
    if not sound.is_usable(now=now):
        return SoundRefusal("sound_unavailable", "This sound is no longer available (taken "
                            "down or its licence lapsed).", 409, "Sound unavailable.")
    country = (user.country or None) if isinstance(user, User) else None
    if not sound.is_available_in(country):
        return SoundRefusal(
            "sound_not_licensed_in_territory",
            "This sound is not licensed in your country." if country else
            "This sound is licensed only in some countries: set your country in your profile.",
            403, "Not licensed in your country.")
    return None


def usable_library_sounds_for(user: User, *, limit: int) -> list[Sound]:
    """Library sounds `user` may put on a new post (`sound_use_refusal`), most used
    first. The catalogue is staff-managed and small; it is read in chunks only until
    `limit` are found."""
    found: list[Sound] = []
    for sound in (Sound.objects.filter(kind=Sound.Kind.LIBRARY)
                  .order_by("-posts_count", "-id").iterator(chunk_size=100)):
        if sound_use_refusal(sound, user=user) is None:
            found.append(sound)
            if len(found) >= limit:
                break
    return found


def sound_posts_for(*, viewer: User | AnonymousUser | None, sound: Sound) -> QuerySet[Post]:
    posts = visible_posts_for(viewer=viewer).filter(sound_id=sound.pk)
    return for_display(without_muted_authors(posts, viewer=viewer))


# --- discover: the hashtags and sounds in use -----------------------------------------------


def hashtag_seen_q(viewer: User | AnonymousUser | None) -> Q:
    """Hashtags that tag at least one published post the viewer may see: a tag on private,
    removed or draft posts only is not shown to those who cannot see them."""
    return Q(Exists(PostHashtag.objects.filter(
        hashtag_id=OuterRef("pk"), post_id__in=visible_posts_for(viewer=viewer)
        .filter(status=Post.Status.PUBLISHED).values("pk"))))


def popular_hashtags_for(*, viewer: User | AnonymousUser | None, limit: int) -> list[Hashtag]:
    """The most used hashtags (by `posts_count`) that tag at least one post the viewer may
    see (`hashtag_seen_q`)."""
    return list(Hashtag.objects.filter(hashtag_seen_q(viewer), posts_count__gt=0)
                .order_by("-posts_count", "name")[:limit])


def popular_sounds_for(*, viewer: User | AnonymousUser | None, limit: int) -> list[Sound]:
    """The most used sounds that a post the viewer may see uses (the rule of
    `get_sound_for`, so each one's page opens), taken-down sounds left out."""
    used_visibly = Exists(visible_posts_for(viewer=viewer).filter(
        Q(sound_id=OuterRef("pk")) | Q(original_sound_id=OuterRef("pk"))))
    return list(Sound.objects.filter(used_visibly, posts_count__gt=0, is_taken_down=False)
                .select_related("original_owner").order_by("-posts_count", "-id")[:limit])
