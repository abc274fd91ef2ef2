"""Hooks that higher apps (notifications) register with moderation; moderation never
imports them. (`moderation.hooks` is the other direction: moderation's answers to the
hooks of lower apps.)

`register_notice_issued_hook`: called in the transaction that created a `Notice` (a
removal, strike, suspension, ban, restriction or appeal outcome told to the person it
concerns), with its id."""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class NoticeIssuedHook(Protocol):
    def __call__(self, *, notice_id: int) -> object: ...


_issued_hooks: Hook[NoticeIssuedHook] = Hook("moderation.notice_issued")
register_notice_issued_hook = _issued_hooks.register


def run_notice_issued_hooks(*, notice_id: int) -> None:
    for hook in _issued_hooks:
        hook(notice_id=notice_id)
