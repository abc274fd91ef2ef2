"""Reads of live. `visible_lives_q` is THE visibility rule of lives: the API, the web
pages, the HLS serving, the chat, gifts and reports all ask it (through `live_for`, the Q,
or `on_air_lives` for the ring on avatars).

Who sees a live (not the host):
- only while it is on air (live or reconnecting): a set-up waiting for media and an ended
  live are the host's alone (the end screen's stats);
- a host that is not discoverable (suspended or banned accounts are inactive, deactivated,
  deleting, unverified) is seen by nobody;
- never across a block, either way, nor by someone the host banned from their lives;
- audience "everyone": anyone, signed in or not, unless the host's account is private
  (then their followers, as for their posts);
- audience "followers": the host's followers (signed in).
The host sees their own lives, whatever their state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.core.ids import id_or_404
from apps.live.models import LiveBan, LiveStream, StreamKey
from apps.social.models import Block, Follow, Mute
from apps.social.selectors import discoverable_q

LIVE_NOT_FOUND = "This live isn't available. It may have ended."
ON_AIR = (LiveStream.State.LIVE, LiveStream.State.RECONNECTING)

Viewer = User | AnonymousUser | None


def _viewer_id(viewer: Viewer) -> int | None:
    if viewer is None or not viewer.is_authenticated:
        return None
    return int(viewer.pk)


def visible_lives_q(viewer: Viewer, prefix: str = "") -> Q:
    """The rule above as a Q over `LiveStream` (or over a model reaching one through
    `prefix`, e.g. "live__"). Follows, blocks and bans are EXISTS subqueries."""
    host_id = OuterRef(f"{prefix}host_id")
    others = (Q(**{f"{prefix}state__in": ON_AIR}) & discoverable_q(f"{prefix}host__"))
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return others & Q(**{f"{prefix}audience": LiveStream.Audience.EVERYONE,
                             f"{prefix}host__is_private": False})
    follows = Exists(Follow.objects.filter(follower_id=viewer_id, followee_id=host_id))
    blocked = Exists(Block.objects.filter(Q(blocker_id=viewer_id, blocked_id=host_id)
                                          | Q(blocker_id=host_id, blocked_id=viewer_id)))
    banned = Exists(LiveBan.objects.filter(host_id=host_id, user_id=viewer_id))
    others &= ~Q(blocked) & ~Q(banned)
    others &= (Q(Q(**{f"{prefix}audience": LiveStream.Audience.EVERYONE}),
                 Q(**{f"{prefix}host__is_private": False}) | Q(follows))
               | Q(Q(**{f"{prefix}audience": LiveStream.Audience.FOLLOWERS}), follows))
    return Q(**{f"{prefix}host_id": viewer_id}) | others


def visible_lives(viewer: Viewer) -> QuerySet[LiveStream]:
    return LiveStream.objects.filter(visible_lives_q(viewer))


def live_for(viewer: Viewer, live_id: int | str) -> LiveStream:
    """The live if the viewer may see it, with its host; else NotFoundError (a 404 that
    does not tell "hidden" from "unknown")."""
    pk = id_or_404(live_id, LIVE_NOT_FOUND)
    live = visible_lives(viewer).filter(pk=pk).select_related("host").first()
    if live is None:
        raise NotFoundError(LIVE_NOT_FOUND)
    return live


def own_live(host: User, live_id: int | str) -> LiveStream:
    """One of the host's own lives (the host's routes: end, replay, stats, PATCH); someone
    else's is a 404 like an unknown one."""
    pk = id_or_404(live_id, LIVE_NOT_FOUND)
    live = LiveStream.objects.filter(pk=pk, host_id=host.pk).select_related("host").first()
    if live is None:
        raise NotFoundError(LIVE_NOT_FOUND)
    return live


def current_live_of(host: User) -> LiveStream | None:
    """The host's unended live (waiting or on air), if any."""
    return (LiveStream.objects.filter(host_id=host.pk).exclude(state=LiveStream.State.ENDED)
            .first())


def active_key(user: User) -> StreamKey | None:
    return StreamKey.objects.filter(user_id=user.pk, revoked_at__isnull=True).first()


def on_air_lives(user_ids: Iterable[int], *, viewer: Viewer = None) -> dict[int, int]:
    """host id -> live id for those of `user_ids` on air now in a live the viewer may see
    (the ring on avatars). One query, none for an empty list."""
    ids = {int(u) for u in user_ids}
    if not ids:
        return {}
    rows = (visible_lives(viewer).filter(host_id__in=ids, state__in=ON_AIR)
            .values_list("host_id", "pk"))
    return dict(rows)


# host id -> on-air live id of every live on air, rewritten after each start and end
# (services.lifecycle.refresh_on_air_cache) and by the live.sweep beat: the avatar ring
# asks it first, so a page whose people are not live costs no query.
ON_AIR_CACHE_KEY = "live:on_air_hosts"


def ring_lives(*, viewer: object, user_ids: Collection[int]) -> dict[int, int]:
    """The avatar ring (social's `live_rings` hook): host id -> live id for those of
    `user_ids` on air in a live the viewer may watch. A cache read; a query only when one
    of them is on air. A lost cache shows no ring until the next start, end or sweep."""
    on_air: dict[int, int] = cache.get(ON_AIR_CACHE_KEY) or {}
    candidates = [user_id for user_id in user_ids if user_id in on_air]
    if not candidates:
        return {}
    who = viewer if isinstance(viewer, User | AnonymousUser) else None
    return on_air_lives(candidates, viewer=who)


def on_air_hosts_now() -> dict[int, int]:
    """host id -> live id of every live on air (what the ring's cache holds)."""
    return dict(LiveStream.objects.filter(state__in=ON_AIR).values_list("host_id", "pk"))


def on_air_host_ids(user_ids: Iterable[int], *, viewer: Viewer = None) -> set[int]:
    return set(on_air_lives(user_ids, viewer=viewer))


def live_tab(viewer: Viewer, *, limit: int = 50) -> list[LiveStream]:
    """The Live tab: lives on air the viewer may see (not their own, not hosts they muted),
    hosts they follow first, then by viewers now (the chat's presence in Redis), then the
    newest."""
    viewer_id = _viewer_id(viewer)
    lives = (visible_lives(viewer).filter(state__in=ON_AIR)
             .select_related("host", "pinned_message__author"))
    if viewer_id is not None:
        lives = lives.exclude(host_id=viewer_id).exclude(
            Exists(Mute.objects.filter(muter_id=viewer_id, muted_id=OuterRef("host_id"))))
        lives = lives.annotate(followed=Exists(Follow.objects.filter(
            follower_id=viewer_id, followee_id=OuterRef("host_id"))))
    rows = list(lives.order_by("-started_at")[:500])
    counts = viewer_counts([live.pk for live in rows])
    for live in rows:
        live.viewer_count = counts.get(live.pk, 0)  # type: ignore[attr-defined]
    rows.sort(key=lambda live: (not getattr(live, "followed", False),
                                -counts.get(live.pk, 0), -live.pk))
    return rows[:limit]


def viewer_counts(live_ids: list[int]) -> dict[int, int]:
    """Approximate viewers now per live (H4's presence in Redis; 0 when Redis is down)."""
    from apps.live.chat import presence

    return presence.viewer_counts(live_ids)


def cover_url(live: LiveStream) -> str | None:
    """Where a page or an answer shows the live's cover (None without one): every caller
    asks here. Covers are private files served by `playback.cover` through `live_for`; the
    `v` parameter (from the file's name) changes when the host picks another cover."""
    if not live.cover:
        return None
    version = hashlib.blake2s(str(live.cover.name).encode(), digest_size=6).hexdigest()
    return f"/live/{live.pk}/cover?v={version}"


def duration_seconds(live: LiveStream) -> int:
    """How long the live was on air (so far, while on air)."""
    from django.utils import timezone

    if live.started_at is None:
        return 0
    end = live.ended_at or timezone.now()
    return max(int((end - live.started_at).total_seconds()), 0)
