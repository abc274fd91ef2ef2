"""Issue 12 item 1: a creator is told on the web what moderation decided. `/notices` lists
each decision (what, the rule, the decision, the date) with an Appeal button into the
appeal flow and then the appeal's state; a removed post stays visible to its owner only,
marked removed with the reason; a suspended person who logs in reads why and until when;
removals and strikes are e-mailed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from apps.accounts.models import User
from apps.content.models import Post
from apps.moderation.models import Appeal, EnforcementAction
from apps.moderation.services import enforce
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import run_notification_tasks

pytestmark = pytest.mark.django_db

Browser = Callable[[User | None], Client]


def _remove(post: Post, reason: str = "Sells fake tickets.") -> EnforcementAction:
    return enforce(action="remove", target_type="post", target_id=post.pk,
                   policy="spam_scam", reason=reason)


def _permalink(post: Post) -> str:
    return f"/@{post.author.username}/video/{post.pk}"


def test_a_removal_is_a_notice_with_the_rule_the_decision_and_an_appeal(browser_for: Browser):
    post = PostFactory()
    owner = post.author
    _remove(post)
    client = browser_for(owner)

    # the notice is a notification too (issue 14): the header's bell and the tab bar's
    # Inbox count it on every page
    run_notification_tasks()
    home = client.get(f"/@{owner.username}").content.decode()
    assert re.search(r'aria-label="Inbox, 1 unread"', home)
    assert len(re.findall(r"data-unread-count[^>]*>1<", home)) == 2

    page = client.get("/notices")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your video was removed" in html
    assert f'href="{_permalink(post)}">Video</a>' in html
    assert 'href="/pages/community-guidelines/spam_scam/"' in html
    assert re.search(r"data-decision>Removed<", html)
    assert "Sells fake tickets." in html
    appeal = re.search(r'<a class="button secondary" href="(/moderation/appeal/[^"]+/)">Appeal</a>',
                       html)
    assert appeal, html
    # seen is read: the header's count is gone
    assert "data-unread-count" not in client.get("/notices").content.decode()

    # the Appeal button leads into the appeal flow; afterwards the notice shows its state
    form = client.get(appeal.group(1))
    assert form.status_code == 200
    assert client.post(appeal.group(1), {"statement": "They were real tickets."}
                       ).status_code == 200
    assert Appeal.objects.get().statement == "They were real tickets."
    after = client.get("/notices").content.decode()
    assert 'data-appeal-status="pending"' in after
    assert "waiting for a moderator" in after
    assert ">Appeal</a>" not in after


def test_a_strike_says_which_strike_of_how_many(browser_for: Browser):
    post = PostFactory()
    enforce(action="strike", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="spam")
    html = browser_for(post.author).get("/notices").content.decode()
    assert "Your account received a strike" in html
    assert re.search(r"data-decision>Strike 1 of 4 \(expires ", html)
    assert f'href="{_permalink(post)}">Account (for a video)</a>' in html


def test_notices_need_a_log_in_and_show_only_ones_own(browser_for: Browser):
    post = PostFactory()
    _remove(post)
    assert browser_for(None).get("/notices").status_code == 302
    other = browser_for(UserFactory()).get("/notices").content.decode()
    assert "Your video was removed" not in other
    assert "No notices." in other


def test_a_removed_post_is_shown_to_its_owner_marked_removed_and_a_404_to_others(
        browser_for: Browser):
    post = PostFactory(caption="my clip")
    owner = post.author
    _remove(post, reason="Sells fake tickets.")
    for viewer in (None, UserFactory()):
        assert browser_for(viewer).get(_permalink(post)).status_code == 404
        assert browser_for(viewer).get(f"/p/{post.pk}/").status_code == 404
        grid = browser_for(viewer).get(f"/@{owner.username}").content.decode()
        assert f"/video/{post.pk}" not in grid

    for url in (_permalink(post), f"/p/{post.pk}/"):
        response = browser_for(owner).get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "data-removed-banner" in html
        assert "Removed: only you can see this video" in html
        assert "data-removed-reason>Sells fake tickets.<" in html
        assert 'href="/pages/community-guidelines/spam_scam/"' in html
        assert "og:title" not in html  # never a link preview of a removed post
        assert "data-post-like" not in html  # no like or comment on a removed post

    grid = browser_for(owner).get(f"/@{owner.username}").content.decode()
    assert f"/video/{post.pk}" in grid
    assert '<span class="badge status">Removed</span>' in grid
    assert "data-removed-reason>Sells fake tickets.<" in grid


def test_the_owner_cannot_like_or_comment_on_their_removed_post_through_the_api():
    from rest_framework.test import APIClient

    post = PostFactory()
    _remove(post)
    api = APIClient()
    api.force_authenticate(post.author)
    assert api.get(f"/api/v1/posts/{post.pk}").json()["status"] == "removed"
    assert api.post(f"/api/v1/posts/{post.pk}/like").status_code == 409
    assert api.post(f"/api/v1/posts/{post.pk}/comments", {"text": "hi"},
                    format="json").status_code == 409
    assert api.patch(f"/api/v1/posts/{post.pk}", {"caption": "x"},
                     format="json").status_code == 404


def test_removals_and_strikes_are_emailed_with_the_rule_and_an_appeal_link():
    post = PostFactory()
    _remove(post)
    enforce(action="strike", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="spam")
    run_notification_tasks()  # notifications e-mails them (`email_now`), not moderation
    subjects = [m.subject for m in mail.outbox]
    assert subjects == ["SwipeMe: Your video was removed",
                        "SwipeMe: Your account received a strike"]
    for message in mail.outbox:
        assert message.to == [post.author.email]
        body = str(message.body)
        assert "/pages/community-guidelines/spam_scam/" in body
        assert re.search(r"/moderation/appeal/[^/\s]+/", body)
    assert "/notices" in str(mail.outbox[0].body)  # a suspended account could not open it
    # an age restriction leaves the video up: told in the app, not e-mailed (by default)
    enforce(action="age_restrict", target_type="post", target_id=PostFactory().pk,
            policy="spam_scam", reason="x")
    assert run_notification_tasks()
    assert len(mail.outbox) == 2


def _log_in(client: Client, user: User, password: str = "correct-horse-battery") -> str:
    response = client.post("/accounts/login/", {"login": user.username, "password": password},
                           follow=True)
    return response.content.decode()


def test_a_suspended_person_logging_in_reads_why_until_when_and_how_to_appeal():
    user = UserFactory()
    suspension = enforce(action="suspend", target_type="user", target_id=user.pk,
                         policy="spam_scam", reason="Posted the same link 400 times.")
    assert suspension.expires_at is not None

    # a wrong password learns nothing about the account
    stranger = _log_in(Client(), user, password="wrong-password")
    assert "Posted the same link" not in stranger
    assert "suspended" not in stranger

    html = _log_in(Client(), user)
    assert "Your account is suspended" in html
    assert "This account is inactive." not in html
    assert "data-block-reason>Posted the same link 400 times.<" in html
    assert f'{suspension.expires_at:%Y-%m-%d}' in html  # the <time datetime=…>
    assert 'href="/pages/community-guidelines/spam_scam/"' in html
    link = re.search(r'href="(/moderation/appeal/[^"]+/)">Appeal this decision', html)
    assert link
    appealer = Client()
    assert appealer.post(link.group(1), {"statement": "Not me."}).status_code == 200
    again = _log_in(Client(), user)
    assert 'data-appeal-status="pending"' in again
    assert "Appeal this decision" not in again


def test_a_banned_person_logging_in_reads_that_it_is_a_ban():
    user = UserFactory()
    enforce(action="ban", target_type="user", target_id=user.pk, policy="spam_scam",
            reason="Ban evasion.")
    html = _log_in(Client(), user)
    assert "Your account is banned" in html
    assert "data-block-reason>Ban evasion.<" in html


def test_the_inactive_page_says_nothing_without_a_log_in_with_the_right_password():
    user = UserFactory()
    enforce(action="suspend", target_type="user", target_id=user.pk, policy="spam_scam",
            reason="secret reason")
    html = Client().get("/accounts/inactive/").content.decode()
    assert "This account is inactive." in html
    assert "secret reason" not in html
