"""Ads: create and update with validation in words. A change to an ad's creative, landing
URL, display name or category sends it back to review (an approved ad never serves content
nobody reviewed)."""

from __future__ import annotations

from typing import Any

from apps.ads.hooks import creative_granted
from apps.ads.models import Ad, AdGroup, AdvertiserOrg, RestrictedCategory
from apps.ads.services._fields import Errors, clean_name, raise_errors
from apps.ads.services.landing import validate_landing_url
from apps.ads.services.orgs import Action, require
from apps.core.errors import ApplicationError
from apps.media.models import MediaAsset

REVIEWED_FIELDS = (
    "asset_id",
    "display_name",
    "landing_url",
    "redirect_disclosed",
    "restricted_category",
    "cta",
)
AD_FIELDS = ("name", "status", *REVIEWED_FIELDS)


def _check_ad(ad: Ad, *, org: AdvertiserOrg, errors: Errors) -> None:
    display = " ".join(str(ad.display_name or "").split())
    if not 1 <= len(display) <= 50:
        errors.setdefault("display_name", []).append(
            "The name shown on the ad (up to 50 characters)."
        )
    ad.display_name = display
    if ad.cta not in Ad.CallToAction.values:
        errors.setdefault("cta", []).append("Unknown call to action.")
    if ad.restricted_category not in RestrictedCategory.values:
        errors.setdefault("restricted_category", []).append("Unknown category.")
    if ad.status not in Ad.Status.values:
        errors.setdefault("status", []).append("active or paused.")
    try:
        ad.landing_url = validate_landing_url(str(ad.landing_url or ""))
    except ApplicationError as exc:
        errors.setdefault("landing_url", []).append(exc.message)
    asset = (
        MediaAsset.objects.filter(pk=ad.asset_id).only("owner_id", "state").first()
        if type(ad.asset_id) is int
        else None
    )
    # The creative must have been uploaded by a member of this org (never someone else's
    # video by its id), or granted to it (a creator's post the org may run: ads.hooks).
    if asset is None or not (
        org.memberships.filter(user_id=asset.owner_id).exists()
        or creative_granted(org_id=org.pk, asset_id=ad.asset_id)
    ):
        errors.setdefault("asset_id", []).append("Upload the video for this ad first.")
    elif asset.state == MediaAsset.State.FAILED:
        errors.setdefault("asset_id", []).append("This upload failed; upload it again.")
    if ad.restricted_category:
        group = ad.ad_group
        if not group.age_bands or "13-17" in group.age_bands:
            errors.setdefault("restricted_category", []).append(
                "Ads in this category may only be shown to adults: set the ad group's age "
                "bands to 18 and over first."
            )


def ad_create(
    *,
    user: object,
    group: AdGroup,
    name: str,
    asset_id: int,
    display_name: str,
    landing_url: str,
    cta: str = Ad.CallToAction.LEARN_MORE,
    restricted_category: str = "",
    redirect_disclosed: bool = False,
) -> Ad:
    org = group.campaign.org
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    errors: Errors = {}
    ad = Ad(
        ad_group=group,
        name=clean_name(name, errors=errors),
        asset_id=asset_id,
        display_name=display_name,
        landing_url=landing_url,
        cta=cta,
        restricted_category=restricted_category or "",
        redirect_disclosed=bool(redirect_disclosed),
        review_state=Ad.Review.DRAFT,
    )
    _check_ad(ad, org=org, errors=errors)
    raise_errors(errors)
    ad.save()
    return ad


def ad_update(*, user: object, ad: Ad, **changes: Any) -> Ad:
    org = ad.ad_group.campaign.org
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    unknown = set(changes) - set(AD_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", fields={k: ["Not an ad field."] for k in sorted(unknown)}
        )
    errors: Errors = {}
    reviewed_change = False
    for key, value in changes.items():
        if key in REVIEWED_FIELDS and getattr(ad, key) != value:
            reviewed_change = True
        setattr(ad, key, clean_name(value, errors=errors) if key == "name" else value)
    _check_ad(ad, org=org, errors=errors)
    raise_errors(errors)
    if reviewed_change and ad.review_state != Ad.Review.DRAFT:
        # Back to review: what serves is always what was reviewed.
        ad.review_state = Ad.Review.DRAFT
        ad.review_reasons = ["You changed the ad: submit it for review again."]
        ad.landing_final_url = ""
    ad.save()
    return ad
