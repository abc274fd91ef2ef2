"""A brand's shortlist of creators (editors and admins; idempotent)."""

from __future__ import annotations

from apps.accounts.models import User
from apps.ads.models import AdvertiserOrg
from apps.ads.services.orgs import Action, require
from apps.core.errors import NotFoundError
from apps.marketplace.models import CreatorProfile, Shortlist


def shortlist_add(*, user: User, org: AdvertiserOrg, creator_id: int) -> Shortlist:
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    if not CreatorProfile.objects.filter(
        user_id=creator_id, status=CreatorProfile.Status.ACTIVE
    ).exists():
        raise NotFoundError("No such creator in the marketplace.", code="creator_not_found")
    row, _ = Shortlist.objects.get_or_create(
        org=org, creator_id=creator_id, defaults={"added_by": user}
    )
    return row


def shortlist_remove(*, user: User, org: AdvertiserOrg, creator_id: int) -> None:
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    Shortlist.objects.filter(org=org, creator_id=creator_id).delete()
