"""Reads of media, with the permission check in the name."""

from __future__ import annotations

from apps.core.errors import NotFoundError
from apps.media.models import MediaAsset, ProcessingStep


def get_asset_for(user_id: int, asset_id: int) -> MediaAsset:
    """The asset if `user_id` owns it; anyone else gets the same 404 as a missing id."""
    asset = MediaAsset.objects.filter(pk=asset_id, owner_id=user_id).first()
    if asset is None:
        raise NotFoundError("Not found.")
    return asset


def steps_of(asset: MediaAsset) -> list[ProcessingStep]:
    return list(ProcessingStep.objects.filter(asset=asset).order_by("id"))
