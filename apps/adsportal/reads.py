"""The portal's reads: apps.ads' selectors (the one membership and scoping rule), asked with
the ids from the URL, answered as pages need them. An id that is not an id, unknown, of
another org, or of another org the person also belongs to than the one in the URL, is the
same 404 (a page never shows one org's object under another's name)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404

from apps.ads import selectors
from apps.ads.delivery_status import DeliveryStatus, delivery_status, delivery_statuses
from apps.ads.models import Ad, AdGroup, AdvertiserOrg, Campaign, CustomAudience, Lookalike
from apps.ads.models.funding import Topup
from apps.ads.services import funding
from apps.core.errors import NotFoundError
from apps.core.ids import parse_id

if TYPE_CHECKING:
    from apps.adsportal.access import Seat


def _pk(raw: str, what: str) -> int:
    pk = parse_id(raw)
    if pk is None:
        raise Http404(f"No such {what}.")
    return pk


def _ours(seat: Seat, org_id: int, what: str) -> None:
    if org_id != seat.org.pk:
        raise Http404(f"No such {what}.")


def orgs_of(user: Any) -> list[AdvertiserOrg]:
    """The user's orgs, each with its `role` (annotated by the selector)."""
    return list(selectors.orgs_of(user))


def members_of(seat: Seat) -> list[Any]:
    return list(selectors.members_of(seat.user, seat.org.pk))


def get_member_of(seat: Seat, member_id: str) -> Any:
    pk = _pk(member_id, "member")
    found = next((m for m in members_of(seat) if m.pk == pk), None)
    if found is None:
        raise Http404("No such member.")
    return found


def campaigns_of(seat: Seat) -> list[Campaign]:
    return list(selectors.campaigns_for(seat.user, seat.org.pk))


def get_campaign_of(seat: Seat, campaign_id: str) -> Campaign:
    try:
        found = selectors.campaign_for(seat.user, _pk(campaign_id, "campaign"))
    except NotFoundError as exc:
        raise Http404("No such campaign.") from exc
    _ours(seat, found.org_id, "campaign")
    return found


def ad_groups_of(seat: Seat, campaign: Campaign) -> list[AdGroup]:
    return list(selectors.ad_groups_for(seat.user, campaign.pk))


def get_ad_group_of(seat: Seat, ad_group_id: str) -> AdGroup:
    try:
        found = selectors.ad_group_for(seat.user, _pk(ad_group_id, "ad group"))
    except NotFoundError as exc:
        raise Http404("No such ad group.") from exc
    _ours(seat, found.campaign.org_id, "ad group")
    return found


def ads_of(seat: Seat, group: AdGroup) -> list[Ad]:
    return list(selectors.ads_for(seat.user, group.pk))


def get_ad_of(seat: Seat, ad_id: str) -> Ad:
    try:
        found = selectors.ad_for(seat.user, _pk(ad_id, "ad"))
    except NotFoundError as exc:
        raise Http404("No such ad.") from exc
    _ours(seat, found.ad_group.campaign.org_id, "ad")
    return found


def audiences_of(seat: Seat) -> list[CustomAudience]:
    return list(selectors.audiences_for(seat.user, seat.org.pk))


def lookalikes_of(seat: Seat) -> list[Lookalike]:
    return list(selectors.lookalikes_for(seat.user, seat.org.pk))


def topups_of(seat: Seat, *, limit: int = 20) -> list[Topup]:
    return list(selectors.topups_for(seat.user, seat.org.pk)[:limit])


def balance_micros(seat: Seat) -> int:
    """What the org may still spend (the ledger balance less holds)."""
    return funding.balance_micros(seat.org)


def delivery_of(campaign: Campaign) -> DeliveryStatus | None:
    """Whether the (already scoped) campaign delivers, and why not, in words."""
    return delivery_status(campaign)


def deliveries_of(campaigns: list[Campaign]) -> dict[int, DeliveryStatus | None]:
    """The campaign list's flags: each (already scoped) campaign's delivery, in flat reads."""
    return delivery_statuses(campaigns)
