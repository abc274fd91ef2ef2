"""eligibility.go_live_refusal, THE rule for going live, for what the API tests do not
reach: standing (suspension, ban, deactivation), a severe strike in force (and a mild one
not), and the staff's policy moving the thresholds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.live.eligibility import go_live_refusal
from apps.live.models import LivePolicy
from apps.moderation.services import enforce
from tests.live.live_helpers import host

pytestmark = pytest.mark.django_db


def _code(user) -> str | None:  # type: ignore[no-untyped-def]
    refusal = go_live_refusal(user)
    return None if refusal is None else refusal.code


def test_standing_severe_strikes_and_deactivation_refuse_in_words():
    ok, banned, deactivated, struck, mild = host(), host(), host(), host(), host()
    assert _code(ok) is None
    enforce(action="ban", target_type="user", target_id=banned.pk,
            policy="violence_graphic", reason="test")
    banned.refresh_from_db()
    assert _code(banned) == "account_restricted"
    deactivated.deactivated_at = timezone.now()
    deactivated.save()
    assert _code(deactivated) == "account_restricted"
    enforce(action="strike", target_type="user", target_id=struck.pk,
            policy="hate_harassment", reason="test")
    refusal = go_live_refusal(struck)
    assert refusal is not None
    assert refusal.code == "severe_strike"
    assert refusal.message == ("Going live is paused while a strike for a serious violation "
                               "is on your account. See your notices.")
    enforce(action="strike", target_type="user", target_id=mild.pk, policy="copyright",
            reason="test")
    assert _code(mild) is None  # not a severe policy


def test_the_staff_policy_moves_every_threshold():
    young_account = host(followers_count=0, date_joined=timezone.now())
    assert _code(young_account) == "account_too_new"
    policy = LivePolicy.current()
    policy.min_account_days = 0
    policy.save()
    assert _code(young_account) == "too_few_followers"
    policy.min_followers = 0
    policy.save()
    assert _code(young_account) is None
    policy.min_age = 40
    policy.save()
    refusal = go_live_refusal(young_account)
    assert refusal is not None
    assert refusal.message == "Going live is for people 40 and over."


def test_a_policy_below_adulthood_still_refuses_minors():
    policy = LivePolicy.current()
    policy.min_age = 13
    policy.save()
    minor = host(date_of_birth=timezone.localdate() - timedelta(days=365 * 16))
    refusal = go_live_refusal(minor)
    assert refusal is not None
    assert refusal.message == "Going live is for people 18 and over."
