"""Reads of a live's chat: who moderates, who is muted, the recent messages a joiner sees,
and the payloads (one shape for the API and the socket). Visibility of the live itself is
`apps.live.selectors.live_for` (THE rule); callers pass the live it answered."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.live.chat import presence
from apps.live.chat.limits import chat_limits
from apps.live.models import LiveChatMessage, LiveModerator, LiveMute, LiveStream
from apps.social.api.serializers import AvatarField
from apps.social.models import Follow
from apps.social.selectors import blocked_user_ids

HOST, MODERATOR = "host", "moderator"
_AVATAR = AvatarField()


def moderator_ids(host_id: int) -> set[int]:
    return set(LiveModerator.objects.filter(host_id=host_id).values_list("user_id", flat=True))


def role_of(live: LiveStream, user_id: int | None) -> str:
    """"host", "moderator" (named by the host) or ""."""
    if user_id is None:
        return ""
    if user_id == live.host_id:
        return HOST
    if LiveModerator.objects.filter(host_id=live.host_id, user_id=user_id).exists():
        return MODERATOR
    return ""


def active_mute(live_id: int, user_id: int) -> LiveMute | None:
    return (LiveMute.objects.filter(live_id=live_id, user_id=user_id, until__gt=timezone.now())
            .order_by("-until").first())


def follows_host(live: LiveStream, user_id: int) -> bool:
    return Follow.objects.filter(follower_id=user_id, followee_id=live.host_id).exists()


def author_card(user: User, role: str = "") -> dict[str, Any]:
    return {"id": str(user.pk), "username": user.username,
            "display_name": user.display_name or user.username,
            "avatar": _AVATAR.to_representation(user.avatar_sizes), "role": role}


def message_payloads(live: LiveStream, rows: Iterable[LiveChatMessage], *,
                     moderators: Collection[int] | None = None) -> list[dict[str, Any]]:
    """`moderators`: the host's moderator ids when the caller has them (else one query)."""
    rows = list(rows)
    mods = moderators if moderators is not None else (
        moderator_ids(live.host_id) if rows else set())

    def role(user_id: int) -> str:
        return HOST if user_id == live.host_id else MODERATOR if user_id in mods else ""

    return [{"id": str(m.pk), "live": str(m.live_id), "text": m.text,
             "created_at": m.created_at.isoformat(),
             "author": author_card(m.author, role(m.author_id)),
             "hidden": bool(m.hidden)} for m in rows]


def recent_messages(viewer: User | None, live: LiveStream, limit: int | None = None
                    ) -> list[LiveChatMessage]:
    """The latest shown messages, oldest first; the viewer's own hidden ones too (marked
    hidden: they were told); none by someone they blocked or who blocked them."""
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    shown = Q(hidden="")
    if viewer_id is not None:
        shown |= Q(author_id=viewer_id) & Q(hidden__in=(LiveChatMessage.Hidden.FILTERED,
                                                        LiveChatMessage.Hidden.CLASSIFIER))
    rows = (LiveChatMessage.objects.filter(shown, live_id=live.pk).select_related("author")
            .order_by("-id"))
    if viewer_id is not None:
        rows = rows.exclude(author_id__in=blocked_user_ids(viewer_id))
    if limit is None:
        limit = chat_limits().recent
    return list(reversed(rows[:limit]))


def pinned_payload(live: LiveStream) -> dict[str, Any] | None:
    if live.pinned_message_id is None:
        return None
    row = (LiveChatMessage.objects.filter(pk=live.pinned_message_id, hidden="")
           .select_related("author").first())
    return message_payloads(live, [row])[0] if row is not None else None


def chat_settings(live: LiveStream) -> dict[str, Any]:
    return {"slow_mode_seconds": live.slow_mode_seconds,
            "followers_only": live.followers_only_chat, "links_allowed": live.links_allowed}


def chat_state(viewer: User | None, live: LiveStream) -> dict[str, Any]:
    """What a joiner needs: the settings, the pinned message, the recent chat, the counts,
    and their own standing (role, muted until, may they chat and if not why)."""
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    role = role_of(live, viewer_id)
    mute = active_mute(live.pk, viewer_id) if viewer_id is not None and not role else None
    refusal = ""
    if viewer_id is None:
        refusal = "Log in to chat."
    elif live.state == LiveStream.State.ENDED:
        refusal = "This live has ended: the chat is closed."
    elif mute is not None:
        refusal = mute_words(mute)
    elif live.followers_only_chat and not role and not follows_host(live, viewer_id):
        refusal = followers_only_words(live)
    counts = presence.counters(live.pk)
    limits = chat_limits()
    return {"live": str(live.pk), "settings": chat_settings(live), "limits": limits.public(),
            "pinned": pinned_payload(live),
            "messages": message_payloads(live, recent_messages(viewer, live, limits.recent)),
            "viewers": presence.viewer_count(live.pk),
            "likes": max(live.likes, counts.get("likes", 0)),
            "you": {"role": role, "muted_until": mute.until.isoformat() if mute else None,
                    "can_chat": not refusal, "refusal": refusal}}


def mute_words(mute: LiveMute) -> str:
    minutes = max(1, -(-int((mute.until - timezone.now()).total_seconds()) // 60))
    return (f"You're muted in this chat for {minutes} more minute"
            f"{'' if minutes == 1 else 's'}.")


def followers_only_words(live: LiveStream) -> str:
    return (f"Only followers of @{live.host.username} can chat in this live. Follow them to "
            "join in.")
