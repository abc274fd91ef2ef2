"""Hooks the messaging app registers with moderation (in `MessagingConfig.ready`):
moderation never imports messaging, so a decision on a direct message reaches the message
only through these. (`notice_hooks` is the same for telling people.)

- `register_message_removed_hook`: a moderator removed the message (enforcement's
  `remove` on a `message` target): take it down for everyone. Answers whether it did
  (False: already gone, e.g. unsent meanwhile).
- `register_message_restored_hook`: an appeal was granted (or the removal otherwise
  reversed): put it back. Answers whether it did.

Both run inside the enforcement transaction, so the message changes with the decision or
not at all."""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class MessageTakedownHook(Protocol):
    def __call__(self, *, message_id: int) -> bool: ...


_removed_hooks: Hook[MessageTakedownHook] = Hook("moderation.message_removed")
register_message_removed_hook = _removed_hooks.register
_restored_hooks: Hook[MessageTakedownHook] = Hook("moderation.message_restored")
register_message_restored_hook = _restored_hooks.register


def _run_all(hooks: Hook[MessageTakedownHook], message_id: int) -> bool:
    done = False
    for hook in hooks:  # every one runs (no short-circuit)
        done = bool(hook(message_id=message_id)) or done
    return done


def run_message_removed_hooks(*, message_id: int) -> bool:
    return _run_all(_removed_hooks, message_id)


def run_message_restored_hooks(*, message_id: int) -> bool:
    return _run_all(_restored_hooks, message_id)
