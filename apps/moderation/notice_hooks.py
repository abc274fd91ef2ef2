"""Hooks that higher apps (notifications) register with moderation; moderation never
imports them. (`moderation.hooks` is the other direction: moderation's answers to the
hooks of lower apps.)

Moderation tells people only through these: notifications decides the channels (inbox,
live, push, e-mail) and keeps the one read state.

- `register_notice_issued_hook`: called in the transaction that created a `Notice` (a
  removal, strike, suspension, ban, restriction or appeal outcome told to the person it
  concerns), with its id.
- `register_report_resolved_hook`: called in the transaction that closed a case, once per
  report it resolved (the reporter is told the outcome), with the report's id."""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class NoticeIssuedHook(Protocol):
    def __call__(self, *, notice_id: int) -> object: ...


class ReportResolvedHook(Protocol):
    def __call__(self, *, report_id: int) -> object: ...


class SupportOfferedHook(Protocol):
    def __call__(self, *, user_id: int, title: str, body: str,
                 resources: list[dict[str, str]]) -> object: ...


_issued_hooks: Hook[NoticeIssuedHook] = Hook("moderation.notice_issued")
register_notice_issued_hook = _issued_hooks.register
_resolved_hooks: Hook[ReportResolvedHook] = Hook("moderation.report_resolved")
register_report_resolved_hook = _resolved_hooks.register


def run_notice_issued_hooks(*, notice_id: int) -> None:
    for hook in _issued_hooks:
        hook(notice_id=notice_id)


def run_report_resolved_hooks(*, report_id: int) -> None:
    for hook in _resolved_hooks:
        hook(report_id=report_id)


_support_hooks: Hook[SupportOfferedHook] = Hook("moderation.support_offered")
register_support_offered_hook = _support_hooks.register


def run_support_offered_hooks(*, user_id: int, title: str, body: str,
                              resources: list[dict[str, str]]) -> None:
    for hook in _support_hooks:
        hook(user_id=user_id, title=title, body=body, resources=resources)
