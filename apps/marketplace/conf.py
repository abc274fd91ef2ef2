"""The marketplace's settings, each a Django setting with this default."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # opting in: at least this many followers (an adult in good standing besides)
    "SWIPEME_MARKETPLACE_MIN_FOLLOWERS": 1000,
    # the platform's fee on what a creator is paid, in basis points of the fee
    "SWIPEME_MARKETPLACE_PLATFORM_FEE_BPS": 1000,
    # how often a brand may ask for changes to a draft before it must approve or dispute
    "SWIPEME_MARKETPLACE_MAX_CHANGE_ROUNDS": 2,
    # a deal's fee, whole cents (USD): $10 .. $1,000,000
    "SWIPEME_MARKETPLACE_MIN_FEE_MINOR": 1_000,
    "SWIPEME_MARKETPLACE_MAX_FEE_MINOR": 100_000_000,
    # the hold on the brand's balance from acceptance to the first draft (then it is posted
    # into the deal's escrow account, which has no timeout)
    "SWIPEME_MARKETPLACE_HOLD_DAYS": 60,
    # a brand cancelling after the creator's draft: the creator's share of the fee
    "SWIPEME_MARKETPLACE_LATE_CANCEL_CREATOR_BPS": 5000,
    # the media kit reads the last N days
    "SWIPEME_MARKETPLACE_KIT_DAYS": 28,
    # the daily refresh redoes a kit older than this (a little under a day, so a run that
    # starts a few minutes early still finds yesterday's kits stale)
    "SWIPEME_MARKETPLACE_KIT_REFRESH_HOURS": 20,
}


def conf(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
