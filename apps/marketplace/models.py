"""The creator marketplace: creators who opted in (with their media kit), brands' shortlists,
deals and the messages on them.

A deal's money is on the payments ledger, never here: accepting holds the fee on the brand's
`ad_balance` (two-phase, pending), the first draft posts the hold into the deal's own
`marketplace_escrow` account (owner id = the deal's id, no-negative), and the end of the
deal moves the escrow to the creator's earnings and platform revenue, back to the brand, or
both. The deal row keeps the sets' ids for the pages and the tests."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel


class CreatorProfile(TimestampedModel):
    """A creator's place in the marketplace and the media kit shown to brands.

    The kit's figures are filled from analytics and social by `services.mediakit` (never
    typed in by the creator); the creator sets only the topics and the rate."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Open to offers"
        PAUSED = "paused", "Not taking offers"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketplace_profile"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    topics = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    # the creator's asking price for one post, whole cents (USD); None: "ask me"
    rate_post_minor = models.BigIntegerField(null=True, blank=True)
    # --- the media kit (refreshed from real data) ---
    followers = models.PositiveIntegerField(default=0)
    average_views = models.PositiveBigIntegerField(default=0)
    completion_bp = models.PositiveIntegerField(default=0)  # basis points of views
    engagement_bp = models.PositiveIntegerField(default=0)  # likes+comments+shares / views
    growth_bp = models.IntegerField(default=0)  # net followers in the period / followers before
    # only the groups above analytics' minimum count ({"viewers", "countries", "age_bands",
    # "languages"})
    audience = models.JSONField(default=dict, blank=True)
    audience_countries = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    # the audience's account languages shown in the kit (primary subtags), for search
    audience_languages = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    top_posts = models.JSONField(default=list, blank=True)
    kit_refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_post_minor__isnull=True) | Q(rate_post_minor__gt=0),
                name="marketplace_rate_positive",
            ),
        ]
        indexes = [models.Index(fields=["status", "-followers"], name="marketplace_profile_search")]

    def __str__(self) -> str:
        return f"marketplace profile of {self.user_id}"


class Shortlist(TimestampedModel):
    org = models.ForeignKey("ads.AdvertiserOrg", on_delete=models.CASCADE, related_name="+")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "creator"], name="marketplace_shortlist_unique")
        ]


class Deal(TimestampedModel):
    class State(models.TextChoices):
        INVITED = "invited", "Invited"  # the brand's offer waits for the creator
        COUNTERED = "countered", "Countered"  # the creator's fee waits for the brand
        ACCEPTED = "accepted", "Accepted"  # fee held on the brand's balance
        DECLINED = "declined", "Declined"
        DRAFT_SUBMITTED = "draft_submitted", "Draft submitted"  # fee in escrow
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        DISPUTED = "disputed", "Disputed"  # staff decide the split

    org = models.ForeignKey("ads.AdvertiserOrg", on_delete=models.PROTECT, related_name="+")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="marketplace_deals"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=100)
    brief = models.TextField(max_length=4000)
    # {"posts": 1, "due_date": "2027-01-31", "hashtags": ["ad"], "may_run_as_ad": false}
    deliverables = models.JSONField(default=dict)
    fee_minor = models.BigIntegerField()  # whole cents of `currency`
    currency = models.CharField(max_length=3, default="USD")
    platform_fee_bps = models.PositiveIntegerField()  # fixed when the deal is accepted
    state = models.CharField(max_length=20, choices=State.choices, default=State.INVITED)
    change_rounds = models.PositiveSmallIntegerField(default=0)
    draft_post = models.ForeignKey(
        "content.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # the ledger's sets (payments.TransferSet): the hold, its post into escrow, the end
    hold_set = models.ForeignKey(
        "payments.TransferSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escrow_account = models.ForeignKey(
        "payments.LedgerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    funded_at = models.DateTimeField(null=True, blank=True)  # the hold posted into escrow
    settle_set = models.ForeignKey(
        "payments.TransferSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    creator_paid_micros = models.BigIntegerField(default=0)
    refunded_micros = models.BigIntegerField(default=0)
    platform_fee_micros = models.BigIntegerField(default=0)
    accepted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=500, blank=True)  # cancel/decline/dispute words
    disputed_by = models.CharField(max_length=8, blank=True)  # "brand" or "creator"

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(fee_minor__gt=0), name="marketplace_fee_positive"),
            models.CheckConstraint(
                condition=Q(
                    creator_paid_micros__gte=0, refunded_micros__gte=0, platform_fee_micros__gte=0
                ),
                name="marketplace_settled_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "-id"], name="marketplace_deal_org"),
            models.Index(fields=["creator", "-id"], name="marketplace_deal_creator"),
        ]

    def __str__(self) -> str:
        return f"deal {self.pk}: {self.title}"


class DealMessage(TimestampedModel):
    """A message on a deal: the brand's members and the creator write; the service writes a
    system line (author None) at each step, so the thread is the deal's history in words."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    side = models.CharField(max_length=8)  # brand / creator / system / staff
    body = models.TextField(max_length=2000)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["deal", "id"], name="marketplace_msg_deal")]
