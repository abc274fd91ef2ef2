"""Domain-event hooks that higher apps (content) register with media. Media never imports
them; it calls these registries when an asset changes state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from apps.core.hooks import Hook


class AssetStateHook(Protocol):
    def __call__(self, *, asset_id: int) -> object: ...


# Called (after commit) when an asset first becomes playable (lowest renditions done).
_playable_hooks: Hook[AssetStateHook] = Hook("media.asset_playable")
register_asset_playable_hook = _playable_hooks.register
# Called (after commit) when an asset is rejected or has failed for good.
_failed_hooks: Hook[AssetStateHook] = Hook("media.asset_failed")
register_asset_failed_hook = _failed_hooks.register


def run_asset_playable_hooks(*, asset_id: int) -> None:
    for hook in _playable_hooks:
        hook(asset_id=asset_id)


def run_asset_failed_hooks(*, asset_id: int) -> None:
    for hook in _failed_hooks:
        hook(asset_id=asset_id)


class AssetPublicHook(Protocol):
    def __call__(self, *, asset_id: int) -> int | None: ...


# Answers "may anyone watch this asset without a signed URL, and under which public
# version?" (content: the `public_version` of the post using the asset when an anonymous
# viewer may see it, else None). With no hook answering, media is private: served only
# through signed, expiring URLs. The version is part of public URLs (see `signing`);
# when it moves, call `apps.media.services.asset_public_urls_retired` for the old one.
_public_hooks: Hook[AssetPublicHook] = Hook("media.asset_public")
register_asset_public_hook = _public_hooks.register


def asset_public_version(*, asset_id: int) -> int | None:
    """The asset's current public version, or None when it is not public."""
    for hook in _public_hooks:
        version = hook(asset_id=asset_id)
        if version is not None:
            return version
    return None


class AssetStepHook(Protocol):
    def __call__(self, *, asset_id: int, step: str) -> object: ...


# Called (after commit) each time a processing step of an asset finishes, with the
# step's name ("frames", "audio", "poster", "rendition-360", ...). Moderation starts its
# pre-publish checks from here; the outputs are in `MediaAsset.outputs` by then.
_step_done_hooks: Hook[AssetStepHook] = Hook("media.asset_step_done")
register_asset_step_done_hook = _step_done_hooks.register


def run_asset_step_done_hooks(*, asset_id: int, step: str) -> None:
    for hook in _step_done_hooks:
        hook(asset_id=asset_id, step=step)


@dataclass(frozen=True)
class AssetRecipe:
    """How the pipeline should render an asset beyond its own content: a chosen sound
    mixed into every rendition and the MP4 ("use this sound"), and the cover frame the
    creator picked. The default (no sound, no cover) renders the upload as it is."""

    # the sound to mix in: a name in the default storage (a library sound's file) ...
    sound_file: str | None = None
    # ... or another asset whose extracted audio is the sound (another post's sound)
    sound_asset_id: int | None = None
    # what happens to the upload's own audio under the sound: keep | duck | mute
    sound_mix: str = "keep"
    # the poster frame, in ms from the start (None: the best of several candidates)
    cover_time_ms: int | None = None


class AssetRecipeHook(Protocol):
    def __call__(self, *, asset_id: int) -> AssetRecipe | None: ...


# Answers "how should this asset be rendered?" (content: the sound, mix and cover of the
# post that uses the asset). None means "no opinion"; with no answer the upload is
# rendered as it is. After the answer changes, call
# `apps.media.services.asset_recipe_changed` (or enqueue `apps.media.recipe_changed`):
# media re-renders exactly the outputs that depend on what changed.
_recipe_hooks: Hook[AssetRecipeHook] = Hook("media.asset_recipe")
register_asset_recipe_hook = _recipe_hooks.register


def asset_recipe(*, asset_id: int) -> AssetRecipe:
    for hook in _recipe_hooks:
        recipe = hook(asset_id=asset_id)
        if recipe is not None:
            return recipe
    return AssetRecipe()


# Called (in the same transaction) when an asset's published captions change: a track is
# published, edited or deleted. Search re-indexes the posts using the asset (their
# transcript is the captions' text: `apps.media.selectors.transcripts_of`).
_captions_changed_hooks: Hook[AssetStateHook] = Hook("media.captions_changed")
register_captions_changed_hook = _captions_changed_hooks.register


def run_captions_changed_hooks(*, asset_id: int) -> None:
    for hook in _captions_changed_hooks:
        hook(asset_id=asset_id)


class Av1ThresholdHook(Protocol):
    def __call__(self) -> int | None: ...


# Answers "past how many views does a post get AV1 renditions?" (experiments: the staff
# flag `media.av1_view_threshold`, audited). None: no opinion; with no answer the setting
# MEDIA_AV1_VIEW_THRESHOLD holds. 0 turns AV1 off.
_av1_threshold_hooks: Hook[Av1ThresholdHook] = Hook("media.av1_view_threshold")
register_av1_threshold_hook = _av1_threshold_hooks.register


def av1_view_threshold_answer() -> int | None:
    for hook in _av1_threshold_hooks:
        answer = hook()
        if answer is not None:
            return answer
    return None


@dataclass(frozen=True)
class PlaybackWanted:
    """When someone will first wait to play an asset, as the app using it knows: `at` the
    earliest time a post on it goes out (a scheduled post's time; now for a post
    published now), None while nothing is to go out (a draft)."""

    at: datetime | None


class AssetPlaybackHook(Protocol):
    def __call__(self, *, asset_id: int) -> PlaybackWanted | None: ...


# Answers "when will someone wait to play this asset?" (content: its post's status and
# schedule). None: no opinion (no post on it yet: someone may be waiting). Media asks it
# when it plans the steps (`early_playback.needs_early_playback`); when the answer moves earlier
# (a draft published, a scheduled post brought forward or due), call
# `apps.media.services.asset_playback_wanted`.
_playback_hooks: Hook[AssetPlaybackHook] = Hook("media.asset_playback_wanted")
register_asset_playback_hook = _playback_hooks.register


def asset_playback_wanted(*, asset_id: int) -> PlaybackWanted | None:
    for hook in _playback_hooks:
        answer = hook(asset_id=asset_id)
        if answer is not None:
            return answer
    return None
