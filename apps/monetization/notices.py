"""Telling creators of the gifts and tips they receive, through apps.notifications.

Two types (registered from `MonetizationConfig.ready()` via `register_types`): gifts and
tips, each grouped per creator and post (or profile) for a day ("maya and 3 others sent
you gifts on your video"), the latest one's words in the body. The gift's row is read
again when the task runs; the notifications app's own rules (blocks, preferences, a post
the creator can no longer see) apply on top."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.monetization.models import GiftSend
from apps.notifications import services as notifications
from apps.notifications import types
from apps.notifications.services import Candidate, texts


def _coins(n: object) -> str:
    count = int(n) if isinstance(n, int | str) and str(n).isdigit() else 0
    return f"{count:,} coin{'' if count == 1 else 's'}"


def _who(row: Any, names: Mapping[int, str]) -> str:
    """"maya" when every send of the group is hers (the group keeps its last three
    distinct senders, so one kept sender means one sender), else texts.who's words."""
    if len(row.actor_ids) <= 1:
        return names.get(row.actor_id or 0, "Someone")
    return texts.who(row, names)


def _gift_words(row: Any, names: Mapping[int, str]) -> tuple[str, str]:
    where = "on your video" if row.target_type == "post" else ""
    several = row.actor_count > 1
    count = f"{row.actor_count} gifts" if several else "a gift"
    title = f"{_who(row, names)} sent you {count} {where}".strip()
    data = row.data
    body = f"{'Latest: ' if several else ''}{data.get('emoji', '')} {data.get('gift', '')} " \
           f"({_coins(data.get('coins'))})"
    return title, " ".join(body.split())


def _tip_words(row: Any, names: Mapping[int, str]) -> tuple[str, str]:
    where = "on your video" if row.target_type == "post" else ""
    several = row.actor_count > 1
    times = f" {row.actor_count} times" if several else ""
    title = f"{_who(row, names)} tipped you{times} {where}".strip()
    return title, f"{'Latest: ' if several else ''}{_coins(row.data.get('coins'))}"


GIFT_RECEIVED = types.NotificationType(
    "gift_received", "Gifts you receive", group_window=types.DAY, words=_gift_words,
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True,
              types.Channel.EMAIL: False})
TIP_RECEIVED = types.NotificationType(
    "tip_received", "Tips you receive", group_window=types.DAY, words=_tip_words,
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True,
              types.Channel.EMAIL: False})


def register_types() -> None:
    types.register(GIFT_RECEIVED)
    types.register(TIP_RECEIVED)


def notify_received(send_id: int) -> int:
    """Tell the recipient of this gift or tip (safe to run twice: one event key per send)."""
    send = GiftSend.objects.select_related("gift").filter(pk=send_id).first()
    if send is None:
        return 0
    kind = GIFT_RECEIVED if send.kind == GiftSend.Kind.GIFT else TIP_RECEIVED
    on_post = send.post_id is not None
    where = f"post:{send.post_id}" if on_post else (
        f"live:{send.live_id}" if send.live_id else "profile")
    data: dict[str, Any] = {"coins": send.coins}
    if send.gift is not None:
        data.update(gift=send.gift.name, emoji=send.gift.emoji)
    candidate = Candidate(
        send.recipient_id, kind.name, f"{kind.name}:{send.pk}", actor_id=send.sender_id,
        target_type="post" if on_post else "user",
        target_id=send.post_id if on_post else send.recipient_id,
        group_key=f"{kind.name}:{send.recipient_id}:{where}", data=data)
    return len(notifications.notify([candidate]))
