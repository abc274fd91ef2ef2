"""Telling people about lives, through apps.notifications (which never imports live).

`live_started` (registered from `LiveConfig.ready()`): the host's followers hear that the
live started, unless they turned the creator's notifications off or turned the type off in
their preferences; once per live (a reconnect never tells again), batched and resumable
(notifications' fan-out). The notifications' rules (blocks, mutes, gone accounts) apply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.live.models import LiveBan, LiveStream
from apps.notifications import services as notifications
from apps.notifications import types
from apps.notifications.services import Candidate
from apps.notifications.services.fanout import live_started_fan_out


def _words(row: Any, names: Mapping[int, str]) -> tuple[str, str]:
    who = names.get(row.actor_id or 0, "Someone")
    return f"{who} is live now", str(row.data.get("title", ""))


LIVE_STARTED = types.NotificationType(
    "live_started", "Lives of people you follow", words=_words,
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True,
              types.Channel.EMAIL: False})


def register_types() -> None:
    types.register(LIVE_STARTED)
    types.register(LIVE_REPLAY)


def live_started(live_id: int) -> int:
    """Tell the host's followers (the task `live.live_started_fan_out`, sent once when the
    live first goes on air). A live already ended or gone tells nobody new."""
    live = LiveStream.objects.filter(pk=live_id).only("host_id", "state", "title").first()
    if live is None or not live.is_on_air:
        return 0
    banned = list(LiveBan.objects.filter(host_id=live.host_id)
                  .values_list("user_id", flat=True))
    return live_started_fan_out(live.pk, creator_id=live.host_id, title=live.title,
                                path=f"/live/{live.pk}", type_name=LIVE_STARTED.name,
                                excluded=banned)


def _replay_words(row: Any, names: Mapping[int, str]) -> tuple[str, str]:
    return "Your live's replay", str(row.data.get("message", ""))


LIVE_REPLAY = types.NotificationType(
    "live_replay", "Replays of your lives", words=_replay_words,
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True,
              types.Channel.EMAIL: True})


def replay_failed(live: LiveStream, message: str) -> None:
    """The host hears, in words, that the replay they asked for could not be made."""
    notifications.notify([Candidate(
        live.host_id, LIVE_REPLAY.name, f"{LIVE_REPLAY.name}:failed:{live.pk}",
        target_type="live", target_id=live.pk,
        data={"message": message, "path": f"/live/{live.pk}"})])
