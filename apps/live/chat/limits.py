"""The live chat's limits, in ONE place that every check reads (`chat_limits()`).

Two sources:
- what a moderator tunes, on the `LivePolicy` row (admin, audited): a message's length,
  the per-person rate limits (a burst window and a sustained one), the longest slow mode a
  host may choose, the two mute lengths;
- what operations tune, Django settings: taps counted from one frame
  (`SWIPEME_LIVE_CHAT_MAX_TAPS`), moderators a host may name
  (`SWIPEME_LIVE_CHAT_MAX_MODERATORS`), the recent messages a joiner reads
  (`SWIPEME_LIVE_CHAT_RECENT`); a connection's outgoing queue (`chat.outbox`).

Read per use (one query by primary key): a staff edit holds from the next message on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.live.models import LivePolicy

# the steps a host picks slow mode from (0 = off), up to the policy's longest
SLOW_MODE_STEPS = (0, 3, 5, 10, 30, 60, 120, 300, 600)


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_chars: int
    rate_limits: tuple[tuple[int, int], ...]  # (messages, window in seconds), each enforced
    slow_mode_choices: tuple[int, ...]
    mute_minutes: tuple[int, ...]
    max_taps: int
    max_moderators: int
    recent: int

    def public(self) -> dict[str, object]:
        """What a client shows (the socket's `ready`): the composer's length, the host's
        slow-mode steps and mute lengths."""
        return {"max_chars": self.max_chars, "slow_mode_choices": list(self.slow_mode_choices),
                "mute_minutes": list(self.mute_minutes)}


def chat_limits(policy: LivePolicy | None = None) -> ChatLimits:
    policy = policy or LivePolicy.current()
    longest = policy.chat_slow_mode_max_seconds
    return ChatLimits(
        max_chars=policy.chat_max_chars,
        rate_limits=((policy.chat_burst_messages, policy.chat_burst_seconds),
                     (policy.chat_sustained_messages, policy.chat_sustained_seconds)),
        slow_mode_choices=tuple(s for s in SLOW_MODE_STEPS if s <= longest),
        mute_minutes=tuple(sorted({policy.chat_mute_short_minutes,
                                   policy.chat_mute_long_minutes})),
        max_taps=settings.SWIPEME_LIVE_CHAT_MAX_TAPS,
        max_moderators=settings.SWIPEME_LIVE_CHAT_MAX_MODERATORS,
        recent=settings.SWIPEME_LIVE_CHAT_RECENT,
    )
