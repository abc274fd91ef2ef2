"""Who may go live: THE one rule (`go_live_refusal`). The API, the studio page, `live_create`
and the ingest's `publish_started` all ask it, and show the refusal's words.

The rule (thresholds in `LivePolicy`, staff-configurable in the admin):
- an adult: `min_age` (18) or older, with a known date of birth (never under
  SWIPEME_ADULT_AGE, whatever the policy says: minors cannot go live);
- an account in good standing: active, not deactivated or deleting, a verified e-mail
  address, no suspension or ban in force;
- an account at least `min_account_days` old;
- no stream-key ban in force (`moderation.selectors.live_key_ban_for`: a moderator's
  `key_ban`, until it expires or an appeal lifts it);
- no severe strike in force (`moderation.selectors.has_active_severe_strike`);
- at least `min_followers` followers;
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.live.models import LivePolicy
from apps.moderation.selectors import (
    account_block_for,
    has_active_severe_strike,
    live_key_ban_for,
)
from apps.monetization.eligibility import Refusal, require

__all__ = ["Refusal", "go_live_refusal", "require"]


def go_live_refusal(user: User, *, policy: LivePolicy | None = None) -> Refusal | None:
    """None when `user` may go live now, else the refusal (a stable code and the sentence
    the person reads)."""
    policy = policy or LivePolicy.current()
    age = user.age_on(timezone.localdate())
    if age is None:
        return Refusal("age_unknown", "Add your date of birth in settings to go live.")
    min_age = max(policy.min_age, settings.SWIPEME_ADULT_AGE)  # never a minor, whatever
    if age < min_age:                                          # the policy says
        return Refusal("too_young", f"Going live is for people {min_age} and over.")
    if not user.is_discoverable or account_block_for(user.pk) is not None:
        return Refusal("account_restricted", "Your account can't go live right now.")
    days = (timezone.now() - user.date_joined).days
    if days < policy.min_account_days:
        wait = policy.min_account_days - days
        return Refusal("account_too_new",
                       f"Your account must be {policy.min_account_days} days old to go live "
                       f"(in {wait} day{'s' if wait != 1 else ''}).")
    key_ban = live_key_ban_for(user.pk)  # a moderator banned the stream key (H6)
    if key_ban is not None and key_ban.expires_at is not None:
        return Refusal("key_banned", "Going live is paused: our moderators banned your stream "
                       f"key until {key_ban.expires_at:%-d %B %Y}. See your notices.")
    if has_active_severe_strike(user.pk):
        return Refusal("severe_strike", "Going live is paused while a strike for a serious "
                       "violation is on your account. See your notices.")
    if user.followers_count < policy.min_followers:
        return Refusal("too_few_followers",
                       f"You need {policy.min_followers} followers to go live "
                       f"(you have {user.followers_count}).")
    return None
