"""The ads app's bounds and switches. Each is a Django setting (override in settings or
with `override_settings`); the default here applies when it is not set."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Budgets (micros of the org's currency; 1 USD = 1_000_000).
    "SWIPEME_ADS_MIN_DAILY_BUDGET_MICROS": 1_000_000,  # 1.00 a day
    "SWIPEME_ADS_MIN_LIFETIME_BUDGET_MICROS": 5_000_000,
    "SWIPEME_ADS_MAX_BUDGET_MICROS": 10_000_000_000_000,  # 10 million
    # Bids per billing event (CPM: per 1,000 impressions).
    "SWIPEME_ADS_MIN_BID_MICROS": 10_000,  # 0.01
    "SWIPEME_ADS_MAX_BID_MICROS": 1_000_000_000,  # 1,000.00
    "SWIPEME_ADS_MAX_FREQUENCY_CAP": 100,  # impressions per user per day or week
    "SWIPEME_ADS_MAX_CAMPAIGN_DAYS": 366,
    # A custom audience or lookalike with fewer matched users does not serve (and an
    # estimate below it is not shown as a number: no narrowing to a few people).
    "SWIPEME_ADS_AUDIENCE_MIN_SIZE": 100,
    "SWIPEME_ADS_AUDIENCE_MAX_UPLOAD": 1_000_000,  # hashes per upload
    "SWIPEME_ADS_LOOKALIKE_MAX_SIZE": 1_000_000,
    # The landing page is fetched at submit (redirects followed by hand, each hop checked).
    "SWIPEME_ADS_LANDING_CHECK": True,
    "SWIPEME_ADS_LANDING_TIMEOUT_S": 3.0,
    "SWIPEME_ADS_LANDING_MAX_REDIRECTS": 5,
    # Hosts that may be plain http and on a private address (tests' local HTTP server);
    # empty in production: https only, public addresses only (no SSRF into our network).
    "SWIPEME_ADS_LANDING_TEST_HOSTS": (),
    # Prohibited categories: words in the ad's name, display name or landing URL that
    # reject it at submit, by category (the reason names the category).
    "SWIPEME_ADS_PROHIBITED_TERMS": {
        "tobacco": ["cigarette", "cigarettes", "vape", "vaping", "tobacco"],
        "weapons": ["firearm", "firearms", "ammunition", "ammo", "gun shop"],
        "drugs": ["cocaine", "heroin", "meth", "buy weed", "recreational drugs"],
        "adult": ["porn", "xxx", "escort", "camgirl"],
        "counterfeit": ["replica watches", "counterfeit", "fake id"],
    },
    # Interests from watching (services.interests): the topics of the posts a signed-in
    # adult completed or liked in the last DAYS days (the latest POSTS of them), a topic
    # counting when MIN_POSTS of those posts carry it; a row older than REFRESH_SECONDS is
    # computed again when the viewer next asks for ads (and any row after a day).
    "SWIPEME_ADS_WATCHED_DAYS": 30,
    "SWIPEME_ADS_WATCHED_POSTS": 100,
    "SWIPEME_ADS_WATCHED_MIN_POSTS": 2,
    "SWIPEME_ADS_WATCHED_REFRESH_SECONDS": 3600,
    # Top-ups (minor units of the org's currency).
    "SWIPEME_ADS_TOPUP_MIN_MINOR": 500,
    "SWIPEME_ADS_TOPUP_MAX_MINOR": 10_000_000,
}


def conf(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
