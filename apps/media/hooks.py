"""Domain-event hooks that higher apps (content) register with media. Media never imports
them; it calls these registries when an asset changes state."""

from __future__ import annotations

from typing import Protocol


class AssetStateHook(Protocol):
    def __call__(self, *, asset_id: int) -> object: ...


_playable_hooks: list[AssetStateHook] = []
_failed_hooks: list[AssetStateHook] = []


def register_asset_playable_hook(fn: AssetStateHook) -> AssetStateHook:
    """Called (after commit) when an asset first becomes playable (lowest renditions done)."""
    if fn not in _playable_hooks:
        _playable_hooks.append(fn)
    return fn


def register_asset_failed_hook(fn: AssetStateHook) -> AssetStateHook:
    """Called (after commit) when an asset is rejected or has failed for good."""
    if fn not in _failed_hooks:
        _failed_hooks.append(fn)
    return fn


def run_asset_playable_hooks(*, asset_id: int) -> None:
    for hook in list(_playable_hooks):
        hook(asset_id=asset_id)


def run_asset_failed_hooks(*, asset_id: int) -> None:
    for hook in list(_failed_hooks):
        hook(asset_id=asset_id)


class AssetPublicHook(Protocol):
    def __call__(self, *, asset_id: int) -> bool: ...


_public_hooks: list[AssetPublicHook] = []


def register_asset_public_hook(fn: AssetPublicHook) -> AssetPublicHook:
    """Answers "may anyone watch this asset without a signed URL?" (content: the asset
    belongs to a published public post). With no hook answering yes, media is private:
    served only through signed, expiring URLs."""
    if fn not in _public_hooks:
        _public_hooks.append(fn)
    return fn


def asset_is_public(*, asset_id: int) -> bool:
    return any(hook(asset_id=asset_id) for hook in list(_public_hooks))


class AssetStepHook(Protocol):
    def __call__(self, *, asset_id: int, step: str) -> object: ...


_step_done_hooks: list[AssetStepHook] = []


def register_asset_step_done_hook(fn: AssetStepHook) -> AssetStepHook:
    """Called (after commit) each time a processing step of an asset finishes, with the
    step's name ("frames", "audio", "poster", "rendition-360", ...). Moderation starts its
    pre-publish checks from here; the outputs are in `MediaAsset.outputs` by then."""
    if fn not in _step_done_hooks:
        _step_done_hooks.append(fn)
    return fn


def run_asset_step_done_hooks(*, asset_id: int, step: str) -> None:
    for hook in list(_step_done_hooks):
        hook(asset_id=asset_id, step=step)
