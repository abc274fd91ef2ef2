"""Campaigns → ad groups → ads.

Money is integer micros of the org's currency (payments.money: 1 USD = 1_000_000), never a
float. Targeting lists are PostgreSQL arrays so the eligibility query can filter in SQL; an
empty list means "any". Which combinations are allowed (minors, restricted categories,
signed-out viewers) is decided in `apps.ads.targeting`, nowhere else."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel

from .orgs import AdvertiserOrg


class InventoryTier(models.TextChoices):
    """Brand safety: how far from sensitive content the advertiser's ads stay."""

    FULL = "full", "Full inventory"  # anything eligible for For You
    STANDARD = "standard", "Standard inventory"  # not next to content labelled sensitive
    LIMITED = "limited", "Limited inventory"  # not next to sensitive or mature-themed content


class Campaign(TimestampedModel):
    class Objective(models.TextChoices):
        REACH = "reach", "Reach"
        VIDEO_VIEWS = "video_views", "Video views"
        TRAFFIC = "traffic", "Traffic"
        CONVERSIONS = "conversions", "Conversions"

    class BudgetKind(models.TextChoices):
        DAILY = "daily", "Daily"
        LIFETIME = "lifetime", "Lifetime"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    org = models.ForeignKey(AdvertiserOrg, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    objective = models.CharField(max_length=16, choices=Objective.choices)
    budget_kind = models.CharField(max_length=16, choices=BudgetKind.choices)
    budget_micros = models.BigIntegerField()
    start_at = models.DateTimeField()
    end_at = models.DateTimeField(null=True, blank=True)  # required for lifetime budgets
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    inventory_tier = models.CharField(max_length=16, choices=InventoryTier.choices,
                                      default=InventoryTier.STANDARD)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "start_at"], name="ads_campaign_live")]
        constraints = [
            models.CheckConstraint(condition=Q(budget_micros__gt=0),
                                   name="ads_campaign_budget_positive"),
            models.CheckConstraint(condition=Q(end_at__isnull=True) | Q(end_at__gt=models.F(
                "start_at")), name="ads_campaign_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name


class AdGroup(TimestampedModel):
    class BidStrategy(models.TextChoices):
        CPM = "cpm", "Cost per 1,000 impressions"
        CPC = "cpc", "Cost per click"
        CPV2S = "cpv2s", "Cost per 2-second view"
        TARGET_COST = "target_cost", "Target cost per result"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Placement(models.TextChoices):
        FOR_YOU = "for_you", "For You"

    class Device(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="ad_groups")
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    bid_strategy = models.CharField(max_length=16, choices=BidStrategy.choices)
    # cpm: per 1,000 impressions; cpc: per click; cpv2s: per 2-second view.
    bid_micros = models.BigIntegerField(null=True, blank=True)
    # target_cost: what the advertiser wants to pay per result of the campaign's objective;
    # delivery bids from it and the predicted rates.
    target_cost_micros = models.BigIntegerField(null=True, blank=True)
    frequency_cap_day = models.PositiveSmallIntegerField(null=True, blank=True)
    frequency_cap_week = models.PositiveSmallIntegerField(null=True, blank=True)
    placements = ArrayField(models.CharField(max_length=16, choices=Placement.choices),
                            default=list, blank=True)
    # Day-parting: hours of the week (0 = Monday 00:00-01:00 ... 167) in the org's time zone
    # when the group may serve; empty = always.
    hours_of_week = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    # Targeting (empty = any).
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    regions = ArrayField(models.CharField(max_length=8), default=list, blank=True)  # ISO 3166-2
    languages = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    age_bands = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    interests = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    devices = ArrayField(models.CharField(max_length=16, choices=Device.choices), default=list,
                         blank=True)
    # Content topics (feed.topics.TOPICS): contextual, the topic of the posts around the slot.
    topics = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    custom_audiences = models.ManyToManyField("ads.CustomAudience", blank=True,
                                              related_name="ad_groups")
    lookalikes = models.ManyToManyField("ads.Lookalike", blank=True, related_name="ad_groups")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(bid_micros__isnull=True) | Q(bid_micros__gt=0))
                & (Q(target_cost_micros__isnull=True) | Q(target_cost_micros__gt=0)),
                name="ads_adgroup_bids_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class RestrictedCategory(models.TextChoices):
    """Allowed with conditions (adults only, see apps.ads.targeting)."""

    NONE = "", "None"
    ALCOHOL = "alcohol", "Alcohol"
    GAMBLING = "gambling", "Gambling"
    DATING = "dating", "Dating"
    FINANCIAL = "financial", "Financial services"
    WEIGHT_LOSS = "weight_loss", "Weight loss"


class Ad(TimestampedModel):
    class CallToAction(models.TextChoices):
        LEARN_MORE = "learn_more", "Learn more"
        SHOP_NOW = "shop_now", "Shop now"
        SIGN_UP = "sign_up", "Sign up"
        DOWNLOAD = "download", "Download"
        WATCH_MORE = "watch_more", "Watch more"
        CONTACT_US = "contact_us", "Contact us"
        BOOK_NOW = "book_now", "Book now"

    class Review(models.TextChoices):
        DRAFT = "draft", "Not submitted"
        PENDING = "pending", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    ad_group = models.ForeignKey(AdGroup, on_delete=models.CASCADE, related_name="ads")
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # The creative: a vertical video uploaded through the media pipeline.
    asset = models.ForeignKey("media.MediaAsset", on_delete=models.PROTECT, related_name="+")
    display_name = models.CharField(max_length=50)
    cta = models.CharField(max_length=16, choices=CallToAction.choices,
                           default=CallToAction.LEARN_MORE)
    landing_url = models.URLField(max_length=2000)
    # Where the landing URL ends after redirects (checked at submit); another registrable
    # domain than landing_url's needs `redirect_disclosed`.
    landing_final_url = models.URLField(max_length=2000, blank=True)
    redirect_disclosed = models.BooleanField(default=False)
    restricted_category = models.CharField(max_length=16, choices=RestrictedCategory.choices,
                                           default=RestrictedCategory.NONE, blank=True)
    review_state = models.CharField(max_length=16, choices=Review.choices,
                                    default=Review.DRAFT)
    # Reasons in words for the advertiser (the portal shows them); staff notes stay internal.
    review_reasons = models.JSONField(default=list, blank=True)
    review_notes = models.TextField(blank=True)
    # What the automated checks found at submit: [{"check": ..., "result": ..., ...}].
    review_checks = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["review_state", "submitted_at"],
                                name="ads_ad_review_queue")]

    def __str__(self) -> str:
        return self.name
