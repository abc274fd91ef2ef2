"""The marketplace's reads: creator search for brands (only what a media kit shows), a
brand's shortlist and deals, a creator's deals, one deal for someone on either side, and a
deal's report. Another org's or person's deal is a 404 exactly as a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.ads.measurement.reporting import MAX_DAYS, ad_report
from apps.ads.models import Ad, AdGroup
from apps.ads.selectors import org_ads
from apps.ads.services.orgs import Action, require, role_of
from apps.analytics.reach import post_reach
from apps.analytics.selectors import post_totals
from apps.core.errors import NotFoundError
from apps.marketplace.models import CreatorProfile, Deal, DealMessage, Shortlist


@dataclass(frozen=True)
class CreatorSearch:
    country: str = ""  # an audience country (shown in the kit: above the minimum count)
    language: str = ""  # an audience language (the viewers' accounts), "pt" or "pt-BR"
    topic: str = ""
    min_followers: int | None = None
    max_followers: int | None = None
    min_engagement_bp: int | None = None
    max_rate_minor: int | None = None


def search_creators(query: CreatorSearch) -> QuerySet[CreatorProfile]:
    """Opted-in creators open to offers, in good standing right now (active accounts; the
    deal services check the rest again at invite and accept), largest audience first."""
    rows = (
        CreatorProfile.objects.filter(
            status=CreatorProfile.Status.ACTIVE,
            user__is_active=True,
            user__deactivated_at__isnull=True,
            user__deletion_scheduled_for__isnull=True,
        )
        .select_related("user")
        .order_by("-followers", "-id")
    )
    if query.country:
        rows = rows.filter(audience_countries__contains=[query.country.upper()])
    if query.language:  # an audience language shown in the kit (above the minimum count)
        primary = query.language.replace("_", "-").split("-")[0].lower()[:8]
        rows = rows.filter(audience_languages__contains=[primary])
    if query.topic:
        rows = rows.filter(topics__contains=[query.topic])
    if query.min_followers is not None:
        rows = rows.filter(followers__gte=query.min_followers)
    if query.max_followers is not None:
        rows = rows.filter(followers__lte=query.max_followers)
    if query.min_engagement_bp is not None:
        rows = rows.filter(engagement_bp__gte=query.min_engagement_bp)
    if query.max_rate_minor is not None:
        rows = rows.filter(
            Q(rate_post_minor__lte=query.max_rate_minor) | Q(rate_post_minor__isnull=True)
        )
    return rows


def shortlist_of(user: User, org_id: int) -> QuerySet[Shortlist]:
    require(user, org_id, Action.VIEW)
    return Shortlist.objects.filter(org_id=org_id).select_related("creator").order_by("-id")


def deals_of_org(user: User, org_id: int) -> QuerySet[Deal]:
    require(user, org_id, Action.VIEW)
    return Deal.objects.filter(org_id=org_id).select_related("creator", "org").order_by("-id")


def deals_of_creator(user: User) -> QuerySet[Deal]:
    return Deal.objects.filter(creator_id=user.pk).select_related("org").order_by("-id")


def deal_for(user: User, deal_id: int) -> Deal:
    """The deal for its creator or a member of its brand; NotFoundError for anyone else."""
    deal = Deal.objects.select_related("org", "creator", "draft_post").filter(pk=deal_id).first()
    if deal is None or (deal.creator_id != user.pk and role_of(user, deal.org_id) is None):
        raise NotFoundError("No such deal.", code="deal_not_found")
    return deal


def messages_of(deal: Deal) -> QuerySet[DealMessage]:
    return deal.messages.select_related("author").order_by("id")


def deal_report(user: User, deal_id: int, *, since: datetime | None = None) -> dict[str, Any]:
    """The brand's report on a deal's post: views, impressions, engagement and completion
    from analytics' hourly aggregates; reach (distinct viewers shown it) from the event lake
    (None when the lake cannot be read: the page says so); for the brand, its spark ads'
    delivery (`spark`, None when it runs none)."""
    deal = deal_for(user, deal_id)
    if deal.creator_id != user.pk:
        require(user, deal.org_id, Action.REPORTS)
    post = deal.draft_post
    if post is None or deal.published_at is None:
        return {"published": False}
    start = since or deal.published_at
    totals = post_totals([post.pk], since=start)[post.pk]
    reached = post_reach([post.pk], since=start)
    engaged = totals.likes + totals.comments + totals.shares
    return {
        "published": True,
        "post_id": str(post.pk),
        "views": totals.plays,
        "impressions": totals.impressions,
        "reach": None if reached is None else reached[post.pk],
        "likes": totals.likes,
        "comments": totals.comments,
        "shares": totals.shares,
        "completions": totals.completions,
        "engagement_rate": round(engaged / totals.plays, 4) if totals.plays else None,
        "completion_rate": (round(totals.completions / totals.plays, 4) if totals.plays else None),
        "spark": spark_stats(user, deal) if deal.creator_id != user.pk else None,
    }


def spark_ads_of(user: User, deal: Deal) -> list[Ad]:
    if deal.draft_post_id is None or deal.draft_post is None:
        return []
    return list(org_ads(user, deal.org_id).filter(asset_id=deal.draft_post.asset_id))


def spark_stats(user: User, deal: Deal) -> dict[str, Any] | None:
    """The deal's spark ads' delivery since publication (ads' daily table, UTC days), or
    None when the brand runs none."""
    ads = spark_ads_of(user, deal)
    if not ads:
        return None
    until = timezone.now().date()
    since = (deal.published_at or timezone.now()).date()
    since = max(since, until - timedelta(days=MAX_DAYS - 1))
    report = ad_report(user=user, org_id=deal.org_id, since=since, until=until, by="ad")
    ids = {str(a.pk) for a in ads}
    rows = [r for r in report.rows if r.key in ids]
    impressions = sum(r.impressions for r in rows)
    clicks = sum(r.clicks for r in rows)
    return {
        "ads": [
            {"id": str(a.pk), "name": a.name, "review": a.get_review_state_display()} for a in ads
        ],
        "impressions": impressions,
        "clicks": clicks,
        "views_2s": sum(r.views_2s for r in rows),
        "spend_micros": sum(r.spend_micros for r in rows),
        "ctr": round(clicks / impressions, 4) if impressions else None,
    }


def spark_ad_groups(user: User, deal: Deal) -> list[AdGroup]:
    """The brand's ad groups a spark ad of this deal can go in (editors and admins; none when
    the deal does not allow it or the post is not live)."""
    if not deal.deliverables.get("may_run_as_ad") or deal.state not in ("published", "paid"):
        return []
    if role_of(user, deal.org_id) is None:
        return []
    return list(
        AdGroup.objects.filter(campaign__org_id=deal.org_id)
        .select_related("campaign")
        .order_by("campaign__name", "name")[:200]
    )
