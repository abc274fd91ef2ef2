"""Creators opting in (and out), their topics and rate; who may take part at all.

One rule for the API, the pages and the deal services (`creator_refusal`): an adult (18+,
a known date of birth), in good standing (active, verified, not banned or suspended, no
severe strike in force), with at least `SWIPEME_MARKETPLACE_MIN_FOLLOWERS` followers.
Every refusal is a sentence the creator reads."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.feed.topics import TOPICS
from apps.marketplace.conf import conf
from apps.marketplace.models import CreatorProfile
from apps.moderation.selectors import account_block_for, has_active_severe_strike


def creator_refusal(user: User) -> str | None:
    """Why this account cannot take part in the marketplace as a creator (None: it can)."""
    age = user.age_on(timezone.localdate())
    if age is None:
        return "Add your date of birth in settings: the creator marketplace is for adults."
    if age < 18:
        return "The creator marketplace is for creators 18 and over."
    if not user.is_discoverable or account_block_for(user.pk) is not None:
        return "Your account isn't in good standing, so it can't take brand deals."
    if has_active_severe_strike(user.pk):
        return (
            "A serious community guidelines strike is in force on your account, so it "
            "can't take brand deals until it expires."
        )
    minimum = int(conf("SWIPEME_MARKETPLACE_MIN_FOLLOWERS"))
    if user.followers_count < minimum:
        return (
            f"The creator marketplace opens at {minimum:,} followers; you have "
            f"{user.followers_count:,}."
        )
    return None


def _locked_profile(user: User) -> CreatorProfile | None:
    return CreatorProfile.objects.select_for_update().filter(user_id=user.pk).first()


def clean_topics(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ApplicationError(
            "Topics are a list of names.",
            code="invalid",
            fields={"topics": ["A list of topic names."]},
        )
    unknown = sorted({t for t in value if t not in TOPICS})
    if unknown:
        raise ApplicationError(
            f"Unknown topics: {', '.join(unknown)}.",
            code="invalid",
            fields={"topics": [f"Choose from: {', '.join(TOPICS)}."]},
        )
    if len(value) > 5:
        raise ApplicationError(
            "Choose at most 5 topics.", code="invalid", fields={"topics": ["At most 5."]}
        )
    return sorted(set(value))


def clean_rate(value: Any) -> int | None:
    if value is None:
        return None
    maximum = int(conf("SWIPEME_MARKETPLACE_MAX_FEE_MINOR"))
    if type(value) is not int or not 0 < value <= maximum:
        raise ApplicationError(
            f"A rate is a whole number of cents from 1 to {maximum:,}.",
            code="invalid",
            fields={"rate_post_minor": ["A whole number of cents above zero."]},
        )
    return value


def opt_in(*, user: User, topics: Any = None, rate_post_minor: Any = None) -> CreatorProfile:
    """Join (or re-open to offers); the media kit is filled at once from real data."""
    from apps.marketplace.services.mediakit import refresh_kit

    refusal = creator_refusal(user)
    if refusal is not None:
        raise ForbiddenError(refusal, code="not_eligible")
    cleaned_topics = clean_topics(topics if topics is not None else [])
    rate = clean_rate(rate_post_minor)
    with transaction.atomic():
        profile = _locked_profile(user)
        if profile is None:
            profile = CreatorProfile.objects.create(
                user=user, topics=cleaned_topics, rate_post_minor=rate
            )
        else:
            profile.status = CreatorProfile.Status.ACTIVE
            if topics is not None:
                profile.topics = cleaned_topics
            if rate_post_minor is not None:
                profile.rate_post_minor = rate
            profile.save(update_fields=["status", "topics", "rate_post_minor", "updated_at"])
        refresh_kit(profile)
    return profile


def profile_update(*, user: User, **changes: Any) -> CreatorProfile:
    unknown = set(changes) - {"topics", "rate_post_minor", "status"}
    if unknown:
        raise ApplicationError(f"Not editable: {', '.join(sorted(unknown))}.", code="invalid")
    with transaction.atomic():
        profile = _locked_profile(user)
        if profile is None:
            raise NotFoundError("You haven't joined the creator marketplace.", code="not_opted_in")
        if "topics" in changes:
            profile.topics = clean_topics(changes["topics"])
        if "rate_post_minor" in changes:
            profile.rate_post_minor = clean_rate(changes["rate_post_minor"])
        if "status" in changes:
            if changes["status"] not in CreatorProfile.Status.values:
                raise ApplicationError(
                    "status: active or paused.",
                    code="invalid",
                    fields={"status": ["active or paused"]},
                )
            if changes["status"] == CreatorProfile.Status.ACTIVE:
                refusal = creator_refusal(user)
                if refusal is not None:
                    raise ForbiddenError(refusal, code="not_eligible")
            profile.status = changes["status"]
        profile.save()
    return profile
