"""The `ad_review` notification type: an ad's review outcome, told to the org's admins and
editors (the words are made at decision time and kept in the row's data)."""

from __future__ import annotations

from apps.ads.services.review import AD_REVIEW_TYPE
from apps.notifications import types

AD_REVIEW = types.NotificationType(
    AD_REVIEW_TYPE,
    "Your ads' review outcomes",
    words=types.stored_words("Ad review"),
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: False, types.Channel.EMAIL: True},
)


def register_types() -> None:
    types.register(AD_REVIEW)
