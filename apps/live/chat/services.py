"""Every write of a live's chat (messages, the host's settings and moderation, likes, gifts)
and the stats the chat counts. Each use case asks `live.selectors.live_for` first (THE
visibility rule: a live the person may not see is a 404, a ban included), then the chat's
own rules; every refusal is a `ChatRefused` whose words the person reads. The room is told
after the commit (`broadcast`).

Posting, in order: signed in; the live not ended; not muted; followers-only chat (the host
and their moderators are exempt from this and the next three); links unless allowed; slow
mode; the per-person rate limits (everyone but the host); then moderation's text checks
(`filters.check`), which keep a message hidden from the room instead of refusing it.
Slow mode and the rate limits count in the cache (Redis; during an outage per process, in
the cache's in-memory stand-in: an outage is no spam window). Every limit (length, rates,
slow-mode steps, mute lengths, taps, moderators) is read from `limits.chat_limits()`: the
staff's `LivePolicy` and the settings, one place.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from rest_framework import status

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import id_or_404
from apps.live.chat import broadcast, filters, presence, selectors, standing
from apps.live.chat.limits import SLOW_MODE_STEPS, ChatLimits, chat_limits
from apps.live.chat.selectors import HOST, MODERATOR
from apps.live.models import LiveBan, LiveChatMessage, LiveModerator, LiveMute, LiveStream
from apps.live.selectors import live_for
from apps.monetization.models import GiftSend
from apps.monetization.services.gifts import gift_send
from apps.social.selectors import discoverable_q

# every step slow mode can have; a host picks among those up to the policy's longest
# (`chat_limits().slow_mode_choices`)
SLOW_MODE_CHOICES = SLOW_MODE_STEPS
MESSAGE_NOT_FOUND = "This message isn't in the chat."
Viewer = User | None


class ChatRefused(ApplicationError):  # noqa: N818 (the name the chat's callers use)
    status_code = status.HTTP_403_FORBIDDEN

    def __init__(self, code: str, message: str, *, status_code: int = status.HTTP_403_FORBIDDEN,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, code=code, status_code=status_code, fields=fields)


def _signed_in(user: Viewer, words: str) -> User:
    if user is None or not user.is_authenticated:
        raise ChatRefused("not_authenticated", words, status_code=status.HTTP_401_UNAUTHORIZED)
    return user


def _on_air(live: LiveStream) -> None:
    if live.state == LiveStream.State.ENDED:
        raise ChatRefused("live_ended", "This live has ended: the chat is closed.",
                          status_code=status.HTTP_409_CONFLICT)


def _moderating(actor: Viewer, live_id: int | str) -> tuple[User, LiveStream, str]:
    """The live, if the actor is its host or one of the host's moderators."""
    user = _signed_in(actor, "Log in to moderate this chat.")
    live = live_for(user, live_id)
    role = selectors.role_of(live, user.pk)
    if not role:
        raise ChatRefused("not_moderator", "Only the host and their moderators can do this.")
    return user, live, role


# --- messages -----------------------------------------------------------------------------


def _text(body: Any, limits: ChatLimits) -> str:
    text = " ".join(str(body or "").split())
    if not text:
        raise ApplicationError("Write a message first.", code="invalid",
                               fields={"text": ["Required."]})
    if len(text) > limits.max_chars:
        raise ApplicationError(f"A chat message has at most {limits.max_chars} characters.",
                               code="invalid", fields={"text": [f"At most {limits.max_chars}."]})
    return text


def _slow_mode(live: LiveStream, user_id: int) -> None:
    seconds = live.slow_mode_seconds
    if not seconds:
        return
    until = time.time() + seconds
    if cache.add(f"live:slow:{live.pk}:{user_id}", until, timeout=seconds):
        return
    then = cache.get(f"live:slow:{live.pk}:{user_id}") or until
    wait = max(1, round(float(then) - time.time()))
    raise ChatRefused("slow_mode", f"Slow mode is on: one message every {seconds} seconds. "
                      f"Try again in {wait} second{'' if wait == 1 else 's'}.",
                      status_code=status.HTTP_429_TOO_MANY_REQUESTS)


def _rate_limit(live: LiveStream, user_id: int, limits: ChatLimits) -> None:
    """Each window starts at the person's first message in it (the key's lifetime)."""
    for limit, window in limits.rate_limits:
        key = f"live:rate:{live.pk}:{user_id}:{window}"
        cache.add(key, 0, timeout=window)
        try:
            sent = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)
            sent = 1
        if sent > limit:
            raise ChatRefused("rate_limited", "You're sending messages too fast. Wait a few "
                              "seconds and try again.",
                              status_code=status.HTTP_429_TOO_MANY_REQUESTS)


def chat_post(author: Viewer, live_id: int | str, body: Any, *,
              kept: standing.StandingCache | None = None,
              ) -> tuple[LiveChatMessage, dict[str, Any], filters.Hide | None]:
    """(the message, its payload, why it is hidden or None). A hidden message is stored
    and only its author is told (in words); a shown one goes to the room. `kept`: the
    socket's standing between messages (`standing`: the live, limits, role, mute and
    moderators read again only when something changed); without it all is read now."""
    user = _signed_in(author, "Log in to chat.")
    found = kept.get(user) if kept is not None else standing.load(user, live_id)
    live, role, limits = found.live, found.role, found.limits
    text = _text(body, limits)
    _on_air(live)
    if not role:
        mute = found.mute
        if mute is not None and mute.until > timezone.now():
            raise ChatRefused("muted", selectors.mute_words(mute))
        if live.followers_only_chat and not selectors.follows_host(live, user.pk):
            raise ChatRefused("followers_only", selectors.followers_only_words(live))
        if not live.links_allowed and filters.has_links(text):
            raise ChatRefused("links_blocked", filters.LINKS_WORDS,
                              fields={"text": [filters.LINKS_WORDS]})
        _slow_mode(live, user.pk)
    if role != HOST:
        _rate_limit(live, user.pk, limits)
    hide = filters.check(user, text)
    message = LiveChatMessage.objects.create(live=live, author=user, text=text,
                                             hidden=hide.reason if hide else "")
    message.author = user
    [payload] = selectors.message_payloads(live, [message], moderators=found.moderators)
    if hide is None:
        broadcast.send_on_commit(live.pk, {"type": "message", "message": payload},
                                 author=user.pk)
    return message, payload, hide


def _message_in(live: LiveStream, message_id: int | str) -> LiveChatMessage:
    pk = id_or_404(message_id, MESSAGE_NOT_FOUND)
    found = (LiveChatMessage.objects.filter(pk=pk, live_id=live.pk).select_related("author")
             .first())
    if found is None:
        raise NotFoundError(MESSAGE_NOT_FOUND)
    return found


@transaction.atomic
def chat_delete(actor: Viewer, live_id: int | str, message_id: int | str) -> None:
    """The host or a moderator deletes a message (authors may delete their own)."""
    user = _signed_in(actor, "Log in to delete messages.")
    live = live_for(user, live_id)
    message = _message_in(live, message_id)
    if message.author_id != user.pk and not selectors.role_of(live, user.pk):
        raise ChatRefused("not_moderator", "Only the host and their moderators can delete "
                          "other people's messages.")
    if message.hidden == LiveChatMessage.Hidden.DELETED:
        return
    was_shown = not message.hidden
    LiveChatMessage.objects.filter(pk=message.pk).update(
        hidden=LiveChatMessage.Hidden.DELETED, hidden_by=user)
    if live.pinned_message_id == message.pk:
        LiveStream.objects.filter(pk=live.pk).update(pinned_message=None)
        broadcast.send_on_commit(live.pk, {"type": "pinned", "message": None})
    if was_shown:
        broadcast.send_on_commit(live.pk, {"type": "deleted", "message": str(message.pk)})


def chat_pin(actor: Viewer, live_id: int | str, message_id: int | str | None
             ) -> dict[str, Any] | None:
    """Pin a shown message (None unpins); the room sees it at once."""
    _, live, _ = _moderating(actor, live_id)
    _on_air(live)
    payload = None
    with transaction.atomic():
        if message_id is not None:
            message = _message_in(live, message_id)
            if message.hidden:
                raise ChatRefused("message_hidden", "This message is hidden: it can't be "
                                  "pinned.", status_code=status.HTTP_409_CONFLICT)
            [payload] = selectors.message_payloads(live, [message])
        LiveStream.objects.filter(pk=live.pk).update(
            pinned_message_id=int(payload["id"]) if payload else None)
        broadcast.send_on_commit(live.pk, {"type": "pinned", "message": payload})
    return payload


def chat_settings_update(actor: Viewer, live_id: int | str, *,
                         slow_mode_seconds: int | None = None,
                         followers_only: bool | None = None,
                         links_allowed: bool | None = None) -> dict[str, Any]:
    """Slow mode, followers-only chat, links: the host and their moderators."""
    _, live, _ = _moderating(actor, live_id)
    _on_air(live)
    allowed = chat_limits().slow_mode_choices
    if slow_mode_seconds is not None and slow_mode_seconds not in allowed:
        choices = ", ".join(str(s) for s in allowed)
        raise ApplicationError(f"Slow mode is one of {choices} seconds (0 turns it off).",
                               code="invalid", fields={"slow_mode_seconds": [choices]})
    changes: dict[str, Any] = {}
    if slow_mode_seconds is not None:
        changes["slow_mode_seconds"] = slow_mode_seconds
    if followers_only is not None:
        changes["followers_only_chat"] = followers_only
    if links_allowed is not None:
        changes["links_allowed"] = links_allowed
    with transaction.atomic():
        if changes:
            LiveStream.objects.filter(pk=live.pk).update(**changes)
            for name, value in changes.items():
                setattr(live, name, value)
        state = selectors.chat_settings(live)
        if changes:
            broadcast.send_on_commit(live.pk, {"type": "settings", "settings": state})
            standing.bump_on_commit(live_id=live.pk)
    return state


# --- the host's moderation -------------------------------------------------------------------


def _target(live: LiveStream, actor_role: str, user_id: int | str, verb: str) -> User:
    """Whom a mute or ban (`verb`) is for: never the host; a moderator only by the host."""
    pk = id_or_404(user_id, "This account isn't available.")
    target = User.objects.filter(pk=pk).first()
    if target is None:
        raise NotFoundError("This account isn't available.")
    if target.pk == live.host_id:
        raise ChatRefused("is_host", f"You can't {verb} the host.")
    if actor_role == MODERATOR and selectors.role_of(live, target.pk) == MODERATOR:
        raise ChatRefused("is_moderator", f"Only the host can {verb} a moderator.")
    return target


def chat_mute(actor: Viewer, live_id: int | str, user_id: int | str, minutes: Any
              ) -> LiveMute:
    """Mute someone in this live for one of the policy's two lengths (5 or 30 minutes by
    default); they are told in words."""
    user, live, role = _moderating(actor, live_id)
    _on_air(live)
    lengths = chat_limits().mute_minutes
    if type(minutes) is not int or minutes not in lengths:
        words = " or ".join(str(m) for m in lengths)
        raise ApplicationError(f"A mute lasts {words} minutes.", code="invalid",
                               fields={"minutes": [f"{words}."]})
    target = _target(live, role, user_id, "mute")
    until = timezone.now() + timedelta(minutes=int(minutes))
    with transaction.atomic():
        mute = LiveMute.objects.create(live=live, user=target, until=until, by=user)
        standing.bump_on_commit(live_id=live.pk)
        broadcast.to_user_on_commit(live.pk, target.pk, {
            "type": "muted", "until": until.isoformat(),
            "message": f"You were muted in this chat for {minutes} minutes."})
    return mute


def chat_unmute(actor: Viewer, live_id: int | str, user_id: int | str) -> None:
    _, live, _ = _moderating(actor, live_id)
    pk = id_or_404(user_id, "This account isn't available.")
    with transaction.atomic():
        ended = LiveMute.objects.filter(live_id=live.pk, user_id=pk,
                                        until__gt=timezone.now()).update(until=timezone.now())
        if ended:
            standing.bump_on_commit(live_id=live.pk)
            broadcast.to_user_on_commit(live.pk, pk, {
                "type": "unmuted", "message": "You can chat again."})


def chat_ban(actor: Viewer, live_id: int | str, user_id: int | str) -> LiveBan:
    """Ban someone from the host's lives (watching and chat): their connections close at
    once and they are told why; their messages in this live are hidden."""
    user, live, role = _moderating(actor, live_id)
    target = _target(live, role, user_id, "ban")
    with transaction.atomic():
        ban, _ = LiveBan.objects.get_or_create(host_id=live.host_id, user=target,
                                               defaults={"by": user})
        standing.bump_on_commit(host_id=live.host_id)
        LiveChatMessage.objects.filter(live_id=live.pk, author_id=target.pk, hidden="").update(
            hidden=LiveChatMessage.Hidden.DELETED, hidden_by=user)
        broadcast.to_user_on_commit(live.pk, target.pk, {
            "type": "banned",
            "message": f"You can no longer watch or chat in @{live.host.username}'s lives."},
            close=True)
        broadcast.send_on_commit(live.pk, {"type": "user_removed", "user": str(target.pk)})
    return ban


def chat_unban(actor: Viewer, live_id: int | str, user_id: int | str) -> None:
    _, live, _ = _moderating(actor, live_id)
    with transaction.atomic():
        LiveBan.objects.filter(host_id=live.host_id, user_id=id_or_404(
            user_id, "This account isn't available.")).delete()
        standing.bump_on_commit(host_id=live.host_id)


def moderator_add(host: User, username: str) -> LiveModerator:
    """The host names someone to moderate their lives' chats."""
    target = (User.objects.filter(discoverable_q(""), username__iexact=str(username or ""))
              .first())
    if target is None:
        raise NotFoundError("No account with this username.", code="user_not_found")
    if target.pk == host.pk:
        raise ChatRefused("is_host", "You already moderate your own lives.",
                          status_code=status.HTTP_400_BAD_REQUEST)
    if LiveBan.objects.filter(host_id=host.pk, user_id=target.pk).exists():
        raise ChatRefused("banned", "This account is banned from your lives: unban them first.",
                          status_code=status.HTTP_409_CONFLICT)
    most = chat_limits().max_moderators
    if LiveModerator.objects.filter(host_id=host.pk).count() >= most:
        raise ChatRefused("too_many", f"You can name at most {most} moderators.",
                          status_code=status.HTTP_409_CONFLICT)
    try:
        with transaction.atomic():
            found, _ = LiveModerator.objects.get_or_create(host_id=host.pk, user=target)
    except IntegrityError:  # the same request twice at once
        found = LiveModerator.objects.get(host_id=host.pk, user=target)
    standing.bump_on_commit(host_id=host.pk)
    return found


def moderator_remove(host: User, user_id: int | str) -> None:
    pk = id_or_404(user_id, "This account isn't one of your moderators.")
    if not LiveModerator.objects.filter(host_id=host.pk, user_id=pk).delete()[0]:
        raise NotFoundError("This account isn't one of your moderators.")
    standing.bump_on_commit(host_id=host.pk)


# --- likes, gifts, stats -----------------------------------------------------------------------


def likes_add(viewer: Viewer, live_id: int | str, taps: Any) -> int:
    """Taps on the heart (a client sends what was tapped since its last send): counted in
    Redis and told to the room by its next tick (about a second). Answers the taps
    counted."""
    user = _signed_in(viewer, "Log in to send likes.")
    if type(taps) is not int or taps < 1:
        raise ApplicationError("count is a whole number, 1 or more.", code="invalid",
                               fields={"count": ["A whole number, 1 or more."]})
    live = live_for(user, live_id)
    _on_air(live)
    counted = min(int(taps), chat_limits().max_taps)
    presence.likes_add(live.pk, counted)
    return counted


def live_gift_send(sender: Viewer, live_id: int | str, gift_id: int, *, key: str | None,
                   session_key: str | None) -> tuple[GiftSend, bool]:
    """A gift in a live: coins from the sender's wallet to the host's earnings through the
    monetization ledger (its eligibility: adults only, no self-gifts, blocks, velocity),
    counted on the live, and shown to the room with its animation."""
    user = _signed_in(sender, "Log in to send gifts.")
    live = live_for(user, live_id)
    if not live.is_on_air:
        raise ChatRefused("not_on_air", "Gifts can be sent while the live is on air.",
                          status_code=status.HTTP_409_CONFLICT)
    with transaction.atomic():
        send, created = gift_send(sender=user, gift_id=gift_id, live_id=live.pk,
                                  recipient=live.host, key=key, session_key=session_key)
        if created:
            LiveStream.objects.filter(pk=live.pk).update(gift_coins=F("gift_coins") + send.coins)
            gift = send.gift
            assert gift is not None
            broadcast.send_on_commit(live.pk, {"type": "gift", "send": str(send.pk), "gift": {
                "id": str(gift.pk), "name": gift.name, "emoji": gift.emoji,
                "coins": gift.coins, "animation": gift.animation,
                "animation_url": gift.animation_file.url if gift.animation_file else None},
                "from": selectors.author_card(user, selectors.role_of(live, user.pk))},
                author=user.pk)
    return send, created


def stats_record(live_id: int, *, final: bool = False) -> None:
    """Write what Redis counted (peak and unique viewers, watch time, likes) on the live;
    never lower than what was written before (a Redis restart loses counts, not stats).
    `final` (the live ended): the live's Redis keys go afterwards."""
    counts = presence.counters(live_id)
    if counts:
        LiveStream.objects.filter(pk=live_id).update(
            peak_viewers=Greatest(F("peak_viewers"), counts["peak"]),
            unique_viewers=Greatest(F("unique_viewers"), counts["unique"]),
            watch_seconds=Greatest(F("watch_seconds"), counts["watch"]),
            likes=Greatest(F("likes"), counts["likes"]))
    if final and counts:
        presence.forget(live_id)
