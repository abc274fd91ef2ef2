"""Spark ads: the brand runs a deal's published post as an ad through ads' own campaigns,
review and delivery, when the deal's deliverables allow it (`may_run_as_ad`).

- `asset_granted` is registered with ads' `creative_grants` hook: ads lets an org use a
  creative none of its members uploaded only when it is the published post of one of the
  org's deals that allows running it as an ad;
- `spark_ad_create` makes the ad in one of the org's ad groups (ads' `ad_create`, so every
  ads rule applies: roles, landing URL, restricted categories adults only) with the post's
  video and the creator's handle as its name, and submits it for review (`ad_submit`);
the deal's report reads the spark ads' delivery (`selectors.spark_stats`)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import User
from apps.ads.models import Ad
from apps.ads.selectors import ad_group_for
from apps.ads.services.ads import ad_create
from apps.ads.services.orgs import Action
from apps.ads.services.review import ad_submit
from apps.content.selectors import promotable_q
from apps.core.errors import ConflictError, ForbiddenError, NotFoundError
from apps.marketplace.models import Deal
from apps.marketplace.services.deals.rules import S, _as_brand, _category_of, _note

LIVE = (S.PUBLISHED, S.PAID)


def _spark_deals(*, org_id: int, asset_id: int) -> QuerySet[Deal]:
    return Deal.objects.filter(
        org_id=org_id,
        state__in=LIVE,
        draft_post__asset_id=asset_id,
        deliverables__may_run_as_ad=True,
    )


def asset_granted(*, org_id: int, asset_id: int) -> bool:
    """The post of a live deal that allows it, while the post may be promoted (content's
    `promotable_q`: published, public, its author public and in good standing)."""
    return (
        _spark_deals(org_id=org_id, asset_id=asset_id).filter(promotable_q("draft_post__")).exists()
    )


def asset_revoked(*, org_id: int, asset_id: int) -> bool:
    """Registered with ads' `creative_revocations`: a deal let the org run the post, and the
    post may no longer be promoted (removed, made private, its author banned)."""
    deals = _spark_deals(org_id=org_id, asset_id=asset_id)
    return deals.exists() and not deals.filter(promotable_q("draft_post__")).exists()


def spark_ad_create(
    *,
    user: User,
    deal_id: int,
    ad_group_id: int | None,
    landing_url: str,
    cta: str = Ad.CallToAction.LEARN_MORE,
) -> Ad:
    deal = Deal.objects.select_related("org", "creator", "draft_post").filter(pk=deal_id).first()
    if deal is None:
        raise NotFoundError("No such deal.", code="deal_not_found")
    _as_brand(user, deal)
    if not deal.deliverables.get("may_run_as_ad"):
        raise ForbiddenError(
            "This deal doesn't let you run the post as an ad: the creator agreed to an organic "
            "post only.",
            code="not_allowed_as_ad",
        )
    if deal.state not in LIVE or deal.draft_post is None:
        raise ConflictError(
            "The post can run as an ad once the creator has published it.", code="not_published"
        )
    if ad_group_id is None:
        raise NotFoundError("Choose one of your ad groups.", code="ad_group_not_found")
    group = ad_group_for(user, ad_group_id, Action.EDIT_CAMPAIGNS)
    if group.campaign.org_id != deal.org_id:  # another org the person also belongs to
        raise NotFoundError("No such ad group.", code="ad_group_not_found")
    ad = ad_create(
        user=user,
        group=group,
        name=f"Spark: {deal.title}"[:120],
        asset_id=deal.draft_post.asset_id,
        display_name=f"@{deal.creator.username}"[:50],
        landing_url=landing_url,
        cta=cta,
        restricted_category=_category_of(deal),
    )
    ad = ad_submit(user=user, ad=ad)
    _note(
        deal,
        f"{deal.org.name} runs the post as an ad (in “{group.name}”); it serves once ad "
        "review approves it.",
        actor=user,
    )
    return ad
