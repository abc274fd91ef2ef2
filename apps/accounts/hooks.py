"""Domain-event hooks that higher apps register with accounts (lower apps never import
higher ones, so accounts calls *them* through these registries).

- Account removal: before a user row is hard-deleted, every registered hook runs inside
  the purge transaction, e.g. `social` removes follows and fixes the other side's counters.
- Data export: each registered section contributes one JSON file to a user's export ZIP.

Register from the higher app's `AppConfig.ready()`:

    from apps.accounts.hooks import register_account_removal_hook
    register_account_removal_hook(remove_follows_of)   # def remove_follows_of(*, user_id: int)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol

from apps.core.hooks import Hook


class AccountRemovalHook(Protocol):
    def __call__(self, *, user_id: int) -> None: ...


class ExportSection(Protocol):
    def __call__(self, *, user_id: int) -> Any: ...


_removal_hooks: Hook[AccountRemovalHook] = Hook("accounts.account_removal")
_export_sections: dict[str, ExportSection] = {}

register_account_removal_hook = _removal_hooks.register
unregister_account_removal_hook = _removal_hooks.remove


def run_account_removal_hooks(*, user_id: int) -> None:
    """Runs every hook in registration order. A hook that raises aborts the purge of this
    user (the caller's transaction rolls back), so no half-removed account is left; one that
    raises `PurgeDeferred` asks the purger to try this user again on a later run."""
    for hook in _removal_hooks:
        hook(user_id=user_id)


class PurgeDeferred(Exception):  # noqa: N818 (a decision, not an error)
    """Raised by a removal hook when the account cannot be purged yet (e.g. a payout of
    the creator's is still with the provider): `users_purge_due` rolls this user back,
    logs the reason and purges the others; the next run tries again."""


class DeletionNoticeHook(Protocol):
    def __call__(self, *, user_id: int) -> list[str]: ...


# What a person loses or must do before their account is deleted, in words, shown by the
# deletion page and `GET /api/v1/me/delete` (e.g. monetization: "you have 120 coins...").
_deletion_notices: Hook[DeletionNoticeHook] = Hook("accounts.deletion_notices")
register_deletion_notice_hook = _deletion_notices.register


def deletion_notices(*, user_id: int) -> list[str]:
    return [notice for hook in _deletion_notices for notice in hook(user_id=user_id)]


class AccountMadePublicHook(Protocol):
    def __call__(self, *, user_id: int) -> object: ...


# Runs when a private account turns public, inside the same transaction (e.g. `social`
# approves the pending follow requests, which no longer need approval).
_made_public_hooks: Hook[AccountMadePublicHook] = Hook("accounts.account_made_public")
register_account_made_public_hook = _made_public_hooks.register


def run_account_made_public_hooks(*, user_id: int) -> None:
    for hook in _made_public_hooks:
        hook(user_id=user_id)


def register_export_section(name: str) -> Callable[[ExportSection], ExportSection]:
    """Decorator: `@register_export_section("follows")` adds `follows.json` to exports.
    The function returns JSON-serialisable data for the user."""

    def decorator(fn: ExportSection) -> ExportSection:
        _export_sections[name] = fn
        return fn

    return decorator


def unregister_export_section(name: str) -> None:
    _export_sections.pop(name, None)


def export_sections() -> dict[str, ExportSection]:
    return dict(_export_sections)


class ProfileChangedHook(Protocol):
    def __call__(self, *, user_id: int, fields: list[str]) -> object: ...


# Called after the commit that changed public profile text (`fields`: e.g. "bio",
# "display_name", "username"); moderation scans it.
_profile_changed_hooks: Hook[ProfileChangedHook] = Hook("accounts.profile_changed")
register_profile_changed_hook = _profile_changed_hooks.register


def run_profile_changed_hooks(*, user_id: int, fields: list[str]) -> None:
    for hook in _profile_changed_hooks:
        hook(user_id=user_id, fields=fields)


class AccountCreatedHook(Protocol):
    def __call__(self, *, user: Any) -> None: ...


# Runs when sign-up completes (the date of birth is known), before the user is saved
# again: a hook may set defaults on the user, e.g. moderation makes protected minors'
# accounts private (the rule lives in `content.audience`, which accounts cannot import).
_created_hooks: Hook[AccountCreatedHook] = Hook("accounts.account_created")
register_account_created_hook = _created_hooks.register


def run_account_created_hooks(*, user: Any) -> None:
    for hook in _created_hooks:
        hook(user=user)


class AccessGate(Protocol):
    def __call__(self, *, user_id: int | None, device_identifier: str,
                 ip: str | None) -> str | None: ...


# A check before every sign-up (`user_id` None) and log-in: a gate returns a reason to
# refuse (e.g. moderation refuses devices of banned accounts), or None.
_access_gates: Hook[AccessGate] = Hook("accounts.access_gate")
register_access_gate = _access_gates.register


def access_refusal(*, user_id: int | None, device_identifier: str, ip: str | None) -> str | None:
    for gate in _access_gates:
        reason = gate(user_id=user_id, device_identifier=device_identifier, ip=ip)
        if reason:
            return reason
    return None


class AccountChangedHook(Protocol):
    def __call__(self, *, user_ids: Collection[int]) -> object: ...


# Runs inside the writing transaction whenever what others see of an account may have
# changed (created, profile text or privacy, username, deactivated or reactivated, deletion
# scheduled or cancelled, suspended, verified): `search` records it in its index outbox
# (a rolled-back change leaves nothing). Unlike profile_changed, not after the commit.
_changed_hooks: Hook[AccountChangedHook] = Hook("accounts.account_changed")
register_account_changed_hook = _changed_hooks.register


def account_changed(*, user_ids: Iterable[int]) -> None:
    ids = [int(pk) for pk in user_ids]
    if not ids:
        return
    for hook in _changed_hooks:
        hook(user_ids=ids)


class SecurityEventHook(Protocol):
    def __call__(self, *, user_id: int, kind: str, detail: dict[str, str]) -> object: ...


# Runs in the transaction of a security-relevant change of the account (kind:
# "new_device" log-in, "password_changed", "password_reset", "mfa_changed"): `notifications`
# tells the owner in the app and by push, whatever their preferences.
_security_hooks: Hook[SecurityEventHook] = Hook("accounts.security_event")
register_security_event_hook = _security_hooks.register


def security_event(*, user_id: int, kind: str, detail: dict[str, str] | None = None) -> None:
    for hook in _security_hooks:
        hook(user_id=user_id, kind=kind, detail=dict(detail or {}))
