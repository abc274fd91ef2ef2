"""What live answers to moderation's live hooks (`apps.moderation.live_hooks`, registered in
`receivers.connect`): a moderator's decisions reach the live through these, inside the
enforcement transaction (which writes the audit row and the host's notice in words)."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from apps.accounts.models import User
from apps.live import services
from apps.live.chat import broadcast
from apps.live.models import LiveChatMessage, LiveStream
from apps.live.safety.evidence import live_dir
from apps.moderation.live_hooks import LivePreview

ON_AIR = (LiveStream.State.LIVE, LiveStream.State.RECONNECTING)
# What the review page's player may read: playlists, init segments, media segments, parts.
SERVED_SUFFIXES = frozenset({".m3u8", ".mp4", ".m4s", ".m4v", ".m4a", ".ts"})


def _user(user_id: int | None) -> User | None:
    return User.objects.filter(pk=user_id).first() if user_id is not None else None


def end_by_moderation(*, live_id: int, actor_id: int | None, reason: str) -> bool:
    """`end_live`: the live ends now (MODERATOR); False when it had ended already."""
    live = LiveStream.objects.filter(pk=live_id).first()
    if live is None or live.state == LiveStream.State.ENDED:
        return False
    ended = services.live_end(live, reason=LiveStream.EndReason.MODERATOR, by=_user(actor_id))
    return ended.end_reason == LiveStream.EndReason.MODERATOR


def key_ban_by_moderation(*, user_id: int, actor_id: int | None, reason: str) -> bool:
    """`key_ban`: the host's key is revoked (a live it publishes ends, KEY_REVOKED), and a
    live still on air without it (or waiting for media) ends too. No new key is made while
    moderation's ban is in force (`live.eligibility`)."""
    host = User.objects.filter(pk=user_id).first()
    if host is None:
        return False
    by = _user(actor_id)
    changed = services.key_revoke(host, by=by) is not None
    for live in LiveStream.objects.filter(host_id=user_id).exclude(state=LiveStream.State.ENDED):
        services.live_end(live, reason=LiveStream.EndReason.MODERATOR, by=by)
        changed = True
    return changed


def message_removed(*, message_id: int) -> bool:
    """A live chat message removed by trust and safety: hidden for everyone (the room drops
    it, a pin goes). A message already hidden (filters, the host) stays as it is."""
    message = LiveChatMessage.objects.filter(pk=message_id).first()
    if message is None or message.hidden:
        return False
    LiveChatMessage.objects.filter(pk=message_id).update(hidden=LiveChatMessage.Hidden.REMOVED)
    live_id = message.live_id
    if LiveStream.objects.filter(pk=live_id, pinned_message_id=message_id).update(
            pinned_message=None):
        broadcast.send_on_commit(live_id, {"type": "pinned", "message": None})
    transaction.on_commit(lambda: broadcast.send(
        live_id, {"type": "deleted", "message": str(message_id)}))
    return True


def message_restored(*, message_id: int) -> bool:
    """An appeal granted: the message is shown again (to joiners' recent chat)."""
    return bool(LiveChatMessage.objects.filter(
        pk=message_id, hidden=LiveChatMessage.Hidden.REMOVED).update(hidden=""))


def preview(*, live_id: int) -> LivePreview | None:
    live = LiveStream.objects.filter(pk=live_id).only("pk", "state", "title", "host_id").first()
    if live is None:
        return None
    return LivePreview(live_id=live.pk, state=live.state, on_air=live.state in ON_AIR,
                       title=live.title, host_id=live.host_id)


def hls_file(*, live_id: int, path: str) -> Path | None:
    """A file of the live's HLS output under its directory (no way out of it: no absolute
    paths, no `..`, no hidden names, a known suffix, a regular file)."""
    parts = path.split("/")
    if (not path or path.startswith("/") or "\\" in path or "\x00" in path
            or any(p in ("", ".", "..") or p.startswith(".") for p in parts)):
        return None
    if Path(parts[-1]).suffix.lower() not in SERVED_SUFFIXES:
        return None
    root = live_dir(live_id).resolve()
    found = (root / path).resolve()
    if not found.is_relative_to(root) or not found.is_file():
        return None
    return found
