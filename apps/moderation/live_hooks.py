"""Hooks the live app registers with moderation (in `apps.live.receivers.connect`):
moderation never imports live, so a decision on a live reaches it only through these, and
the review page learns the live's state and reads its media only through them.

- `register_live_end_hook`: a moderator ended the live (enforcement's `end_live`): end it
  now. Answers whether it did (False: it had ended already).
- `register_live_key_ban_hook`: a moderator banned the host's stream key (`key_ban`):
  revoke their key (which ends a live on air). Answers whether anything changed. No new
  key is made while the ban is in force: live's eligibility asks
  `moderation.selectors.live_key_ban_for`.
- `register_live_message_removed_hook` / `..._restored_hook`: a live chat message removed
  by a moderator (hidden for everyone) / put back by an appeal granted.
- `register_live_preview_hook`: the live as the review page shows it now (`LivePreview`),
  None when unknown.
- `register_live_file_hook`: a file of the live's HLS output (`index.m3u8` and what its
  playlists name), path-checked by live; None when there is no such file. The review
  page serves it to moderators of the live queue, whatever the live's audience.

The write hooks run inside the enforcement transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from apps.core.hooks import Hook


@dataclass(frozen=True)
class LivePreview:
    live_id: int
    state: str  # created, live, reconnecting, ended
    on_air: bool
    title: str
    host_id: int


class LiveEndHook(Protocol):
    def __call__(self, *, live_id: int, actor_id: int | None, reason: str) -> bool: ...


class LiveKeyBanHook(Protocol):
    def __call__(self, *, user_id: int, actor_id: int | None, reason: str) -> bool: ...


class LiveMessageHook(Protocol):
    def __call__(self, *, message_id: int) -> bool: ...


class LivePreviewHook(Protocol):
    def __call__(self, *, live_id: int) -> LivePreview | None: ...


class LiveFileHook(Protocol):
    def __call__(self, *, live_id: int, path: str) -> Path | None: ...


_end_hooks: Hook[LiveEndHook] = Hook("moderation.live_end")
register_live_end_hook = _end_hooks.register
_key_ban_hooks: Hook[LiveKeyBanHook] = Hook("moderation.live_key_ban")
register_live_key_ban_hook = _key_ban_hooks.register
_message_removed_hooks: Hook[LiveMessageHook] = Hook("moderation.live_message_removed")
register_live_message_removed_hook = _message_removed_hooks.register
_message_restored_hooks: Hook[LiveMessageHook] = Hook("moderation.live_message_restored")
register_live_message_restored_hook = _message_restored_hooks.register
_preview_hooks: Hook[LivePreviewHook] = Hook("moderation.live_preview")
register_live_preview_hook = _preview_hooks.register
_file_hooks: Hook[LiveFileHook] = Hook("moderation.live_file")
register_live_file_hook = _file_hooks.register


def run_live_end_hooks(*, live_id: int, actor_id: int | None, reason: str) -> bool:
    done = False
    for hook in _end_hooks:  # every one runs (no short-circuit)
        done = bool(hook(live_id=live_id, actor_id=actor_id, reason=reason)) or done
    return done


def run_live_key_ban_hooks(*, user_id: int, actor_id: int | None, reason: str) -> bool:
    done = False
    for hook in _key_ban_hooks:
        done = bool(hook(user_id=user_id, actor_id=actor_id, reason=reason)) or done
    return done


def run_live_message_removed_hooks(*, message_id: int) -> bool:
    done = False
    for hook in _message_removed_hooks:
        done = bool(hook(message_id=message_id)) or done
    return done


def run_live_message_restored_hooks(*, message_id: int) -> bool:
    done = False
    for hook in _message_restored_hooks:
        done = bool(hook(message_id=message_id)) or done
    return done


def live_preview(*, live_id: int) -> LivePreview | None:
    """The first answer (live registers one)."""
    for hook in _preview_hooks:
        found = hook(live_id=live_id)
        if found is not None:
            return found
    return None


def live_file(*, live_id: int, path: str) -> Path | None:
    for hook in _file_hooks:
        found = hook(live_id=live_id, path=path)
        if found is not None:
            return found
    return None
