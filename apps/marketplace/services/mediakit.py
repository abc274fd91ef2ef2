"""The media kit: filled from real data through analytics' and social's reads, never typed.

- audience countries, age bands and languages (the viewers' account languages):
  `analytics.selectors.audience_for` (distinct signed-in viewers; each group shown only
  from its minimum count, and the whole audience only from that many: nobody can be
  singled out);
- average views: views of the creator's posts published in the period ÷ those posts
  (content's counters);
- completion and engagement rates: `creator_summary_for` over the period (completions ÷
  views; likes + comments + shares ÷ views), basis points;
- growth: net followers gained in the period ÷ the followers before it, basis points;
- top posts: the period's top five by views (id, caption, views).
Reads only; `refresh_kit` writes this app's row."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from django.db.models import Avg, F, Q
from django.utils import timezone

from apps.analytics.selectors import audience_for, creator_summary_for
from apps.content.models import Post
from apps.marketplace.conf import conf
from apps.marketplace.models import CreatorProfile


def _bp(part: int, whole: int) -> int:
    return round(10_000 * part / whole) if whole > 0 else 0


def refresh_kit(profile: CreatorProfile) -> CreatorProfile:
    days = int(conf("SWIPEME_MARKETPLACE_KIT_DAYS"))
    user = profile.user
    summary = creator_summary_for(creator_id=user.pk, days=days, top=5)
    audience = audience_for(creator_id=user.pk, days=days, languages=True)
    since = timezone.now() - timedelta(days=days)
    average = Post.objects.filter(
        author_id=user.pk, status=Post.Status.PUBLISHED, published_at__gte=since
    ).aggregate(v=Avg("views_count"))["v"]
    net = summary.followers_gained - summary.followers_lost
    before = max(0, user.followers_count - net)
    profile.followers = user.followers_count
    profile.average_views = int(average or 0)
    profile.completion_bp = _bp(summary.completions, summary.views)
    profile.engagement_bp = _bp(summary.likes + summary.comments + summary.shares, summary.views)
    profile.growth_bp = _bp(net, before) if before else 0
    profile.audience = {
        "viewers": audience.viewers,
        "min_count": audience.min_count,
        "countries": [asdict(g) for g in audience.countries],
        "age_bands": [asdict(g) for g in audience.age_bands],
        "languages": [asdict(g) for g in audience.languages],
    }
    profile.audience_countries = [g.key for g in audience.countries if g.key != "other"]
    profile.audience_languages = [g.key for g in audience.languages if g.key != "other"]
    profile.top_posts = [
        {
            "post_id": str(p["post_id"]),
            "views": int(str(p["views"] or 0)),
            "caption": str(p.get("caption") or "")[:120],
        }
        for p in summary.top_posts
        if p.get("status") == Post.Status.PUBLISHED
    ]
    profile.kit_refreshed_at = timezone.now()
    profile.save()
    return profile


def refresh_stale_kits(*, max_age: timedelta | None = None, limit: int = 500) -> int:
    """Refresh the kits not refreshed within `max_age` (default: the setting, 20 hours),
    oldest first, at most `limit` a run (the daily beat task; a run that finds every kit
    fresh does nothing, so a repeated or overlapping run is harmless). Each kit is written
    on its own (`refresh_kit`), so one creator's failure does not undo the others'."""
    age = max_age or timedelta(hours=int(conf("SWIPEME_MARKETPLACE_KIT_REFRESH_HOURS")))
    cutoff = timezone.now() - age
    stale = (
        CreatorProfile.objects.filter(
            Q(kit_refreshed_at__isnull=True) | Q(kit_refreshed_at__lt=cutoff)
        )
        .select_related("user")
        .order_by(F("kit_refreshed_at").asc(nulls_first=True), "id")[:limit]
    )
    done = 0
    for profile in stale:
        # re-read under the cutoff: a kit another run refreshed meanwhile is left alone
        if CreatorProfile.objects.filter(pk=profile.pk, kit_refreshed_at__gte=cutoff).exists():
            continue
        refresh_kit(profile)
        done += 1
    return done
