"""Hooks that higher apps register with detection; detection never imports them.
(`detection.hooks` is the other direction: what detection registers with lower apps.)

- `register_asset_checked_hook`: called once an upload's pre-publish check is settled
  (scanned, failed for good, or cleared by staff), after its transaction committed, with
  the asset's id. Posts are settled by detection itself (content is below it); messaging
  delivers or refuses the media messages that waited for the check."""

from __future__ import annotations

import logging
from typing import Protocol

from apps.core.hooks import Hook

logger = logging.getLogger(__name__)


class AssetCheckedHook(Protocol):
    def __call__(self, *, asset_id: int) -> object: ...


_checked_hooks: Hook[AssetCheckedHook] = Hook("moderation_detection.asset_checked")
register_asset_checked_hook = _checked_hooks.register


def run_asset_checked_hooks(*, asset_id: int) -> None:
    for hook in _checked_hooks:
        hook(asset_id=asset_id)
