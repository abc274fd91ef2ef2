"""Hooks that higher apps (marketplace) register with ads. Ads never imports them.

A creative grant answers "may this org run this media asset as an ad's creative although
none of its members uploaded it?": the marketplace says yes for a deal's published post
whose deliverables let the brand run it as an ad (a spark ad). Asked by the ad checks at
create and update (`services.ads._check_ad`)."""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class CreativeGrant(Protocol):
    def __call__(self, *, org_id: int, asset_id: int) -> bool: ...


creative_grants: Hook[CreativeGrant] = Hook("ads.creative_grants")

# A revocation answers "did a grant let this org use this asset, and no longer does?" (the
# post removed, made private, its author banned): asked each time ads reads what may serve,
# so the ad stops. An org member's own upload is never asked about (a member who left the
# org does not stop the ads made with their upload).
creative_revocations: Hook[CreativeGrant] = Hook("ads.creative_revocations")


def creative_granted(*, org_id: int, asset_id: int) -> bool:
    """True when a registered grant lets the org use another person's asset."""
    return any(grant(org_id=org_id, asset_id=asset_id) for grant in creative_grants)


def creative_revoked(*, org_id: int, asset_id: int) -> bool:
    """True when a grant that let the org use the asset has ended."""
    return any(revoked(org_id=org_id, asset_id=asset_id) for revoked in creative_revocations)
