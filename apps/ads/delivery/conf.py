"""Delivery's settings (each a Django setting; the default here applies when unset)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Ad load in For You: at most one ad per this many organic posts (staff may change it in
    # the admin: delivery.AdLoad overrides it).
    "SWIPEME_ADS_EVERY_N_POSTS": 7,
    "SWIPEME_ADS_ENABLED": True,
    # The least expected value per 1,000 impressions an ad must bring (micros).
    "SWIPEME_ADS_RESERVE_CPM_MICROS": 500_000,
    # The share of a day's traffic in each UTC hour (any positive weights; normalised).
    # A diurnal default: quiet at night, peaks in the evening.
    "SWIPEME_ADS_TRAFFIC_CURVE": (
        2,
        1.5,
        1,
        1,
        1,
        1.5,
        2.5,
        3.5,
        4,
        4,
        4,
        4.5,
        5,
        5,
        4.5,
        4.5,
        5,
        5.5,
        6.5,
        7.5,
        8,
        7.5,
        5.5,
        3.5,
    ),
    # How far ahead of the curve a campaign may spend (fraction of its daily budget).
    "SWIPEME_ADS_PACING_LEAD": 0.02,
    # Below the curve by less than this fraction of the budget, ads are admitted with a
    # probability proportional to the headroom (smooth, not stop-and-go).
    "SWIPEME_ADS_PACING_BAND": 0.005,
    # Seconds a process keeps the eligible ads it read (no query per feed page).
    "SWIPEME_ADS_ELIGIBLE_TTL": 5.0,
    # Seconds (of the page's clock) a process reuses the campaigns' spend and in-flight cost
    # it read for the pre-auction throttle (pacing.StateCache); 0: read them on every page.
    # Admission (pacing.admit) always reads Redis: the budget and the curve stay exact.
    "SWIPEME_ADS_STATES_TTL": 1.0,
}


def conf(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
