"""Strikes expire; thresholds limit features, then suspend, then ban; the sweep lifts a
suspension that ran out; a suspended account's token is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.content import services as content_services
from apps.content.models import Post
from apps.moderation.groups import setup_groups
from apps.moderation.models import Appeal, Case, EnforcementAction, Standing, Strike
from apps.moderation.services import (
    active_strikes,
    case_claim,
    case_decide,
    enforce,
    standings_sweep,
)
from tests.accounts.conftest import MobileClient
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import run_notification_tasks

pytestmark = pytest.mark.django_db


def _strike(user: User) -> EnforcementAction:
    post = PostFactory(author=user)
    return enforce(action="strike", target_type="post", target_id=post.pk,
                   policy="spam_scam", reason="spam")


def test_thresholds_limit_then_suspend_then_ban():
    user = UserFactory()
    _strike(user)
    assert Standing.objects.filter(user=user).first() is None
    _strike(user)
    standing = Standing.objects.get(user=user)
    assert standing.state == "limited"
    assert standing.limited_until is not None
    assert standing.limited_until > timezone.now()

    # while limited, a new post waits for review (content's publish gate) with a case
    post = content_services.post_create(author=user, asset_id=MediaAssetFactory(owner=user).pk,
                                        caption="new", publish="now")
    post.refresh_from_db()
    assert post.status == Post.Status.REVIEWING
    held = Case.objects.get(target_type="post", target_id=post.pk)
    assert held.evidence[0]["signal"] == "feature_limit"

    _strike(user)
    standing.refresh_from_db()
    user.refresh_from_db()
    assert standing.state == "suspended"
    assert not user.is_active
    suspension = EnforcementAction.objects.get(action="suspend")
    assert suspension.actor_id is None
    assert suspension.reason == "3 active strikes."

    _strike(user)
    standing.refresh_from_db()
    assert standing.state == "banned"


def test_expired_strikes_do_not_count():
    user = UserFactory()
    _strike(user)
    _strike(user)
    Strike.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert active_strikes(user.pk) == 0
    _strike(user)  # one active strike again: below every threshold
    assert active_strikes(user.pk) == 1
    assert not EnforcementAction.objects.filter(action__in=["suspend", "ban"]).exists()


def test_the_sweep_lifts_a_suspension_that_ran_out_and_not_a_ban():
    suspended, banned = UserFactory(), UserFactory()
    enforce(action="suspend", target_type="user", target_id=suspended.pk,
            policy="hate_harassment", reason="threats")
    enforce(action="ban", target_type="user", target_id=banned.pk, policy="hate_harassment",
            reason="repeat threats")
    assert standings_sweep() == 0  # nothing ran out yet
    EnforcementAction.objects.filter(action="suspend").update(
        expires_at=timezone.now() - timedelta(minutes=1))
    Standing.objects.filter(user=suspended).update(
        suspended_until=timezone.now() - timedelta(minutes=1))
    assert standings_sweep() == 1
    assert User.objects.get(pk=suspended.pk).is_active
    assert Standing.objects.get(user=suspended).state == "good"
    assert not User.objects.get(pk=banned.pk).is_active


def test_a_suspended_users_token_is_refused_and_so_is_their_log_in():
    user = UserFactory()
    mobile = MobileClient(device_id="phone-1")
    assert mobile.login(user.username).status_code == 200
    assert mobile.get("/api/v1/me").status_code == 200

    enforce(action="suspend", target_type="user", target_id=user.pk, policy="spam_scam",
            reason="spam run")

    response = mobile.get("/api/v1/me")
    assert response.status_code == 401
    assert MobileClient(device_id="phone-1").login(user.username).status_code in (400, 401)
    # nor can they log in on the web
    assert Client().login(username=user.username, password="correct-horse-battery") is False


def test_a_suspended_person_appeals_through_the_link_in_the_email():
    user = UserFactory()
    suspension = enforce(action="suspend", target_type="user", target_id=user.pk,
                         policy="spam_scam", reason="spam run")
    run_notification_tasks()
    # the e-mail (notifications', at once: mandatory, `email_now`) says why, links the rule
    # and carries the appeal link
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert "Your account is suspended" in message.subject
    body = str(message.body)
    # one sentence that names the account, the end date and the rule (it began "Until …")
    assert re.search(r"Your account is suspended until \d{2} \w+ \d{4} because of activity "
                     r"that goes against our Community Guidelines on ", body)
    assert "\nUntil " not in body
    assert not body.startswith("Until ")
    assert "/pages/community-guidelines/spam_scam/" in body
    found = re.search(r"https?://[^/\s]+(/moderation/appeal/[^/\s]+/)", str(message.body))
    assert found
    link = found.group(1)

    web = Client(enforce_csrf_checks=False)
    page = web.get(link)
    assert page.status_code == 200
    assert "spam run" in page.content.decode()
    response = web.post(link, {"statement": "Not spam."})
    assert response.status_code == 200
    assert 'id="appeal-received"' in response.content.decode()
    appeal = Appeal.objects.get()
    assert (appeal.appellant_id, appeal.action_id, appeal.case.queue) == (
        user.pk, suspension.pk, "appeals")
    again = web.post(link, {"statement": "again"})
    assert again.status_code == 409
    assert Appeal.objects.count() == 1
    assert web.get(link[:-4] + "xyz/").status_code == 404
    # a senior moderator overturns: the account is back, and the person hears by e-mail


    setup_groups()
    made = UserFactory(is_staff=True)
    made.groups.add(Group.objects.get(name="Senior moderators"))
    senior = User.objects.get(pk=made.pk)  # a fresh permission cache
    case_claim(case_id=appeal.case_id, moderator=senior)
    case_decide(case_id=appeal.case_id, moderator=senior, decision="overturn",
                reason="Not spam after all.")
    run_notification_tasks()
    assert User.objects.get(pk=user.pk).is_active
    assert mail.outbox[-1].subject == "SwipeMe: Your appeal was granted"
    assert "you can log in again" in str(mail.outbox[-1].body)
    assert web.get("/moderation/appeal/not-a-token/").status_code == 404
