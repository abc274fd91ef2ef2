"""The issue's "done when": a reported video reaches a moderator's queue with its evidence,
one keypress takes it down, its creator gets a strike with a reason and a link to the rule,
the appeal reaches another moderator and an overturn restores everything — all audited."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from apps.content.models import Post
from apps.moderation.models import (
    Appeal,
    AuditEvent,
    Case,
    EnforcementAction,
    Report,
    Strike,
)
from apps.moderation.services import active_strikes, case_open_or_merge
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.moderation.conftest import error_of

pytestmark = pytest.mark.django_db


def _shortcut_form(html: str, key: str) -> dict[str, str]:
    """What pressing `key` on the review page submits: the decision form's fields plus the
    name/value of the button that carries `data-key` (review.js clicks that button)."""
    form = re.search(r'<form method="post" action="([^"]+/decide)" id="decide-form".*?</form>',
                     html, re.S)
    assert form, "no decision form"
    body = form.group(0)
    button = re.search(rf'<button type="submit" name="decision" value="(\w+)" '
                       rf'data-key="{key}"([^>]*)>', body)
    assert button, f"no button for key {key}"
    assert "disabled" not in button.group(2)
    policy = re.search(r'<option value="(\w+)" selected>', body)
    assert policy
    return {"action": form.group(1), "decision": button.group(1), "policy": policy.group(1),
            "reason": "", "then": "next"}


def test_report_to_takedown_to_appeal_to_overturn(api_for, web_for, moderator):
    # given a published video and two people who report it, plus a detector's flag
    creator = UserFactory(username="creator")
    post = PostFactory(author=creator, caption="a video someone reports",
                       asset__outputs={"hls": "hls/master.m3u8", "mp4": "video.mp4",
                                       "poster": "poster.jpg"})
    first, second = UserFactory(), UserFactory()
    response = api_for(first).post("/api/v1/reports", {
        "target_type": "post", "target_id": str(post.pk), "policy": "nudity_sexual",
        "details": "explicit at 0:03"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["outcome"] == "pending"
    assert response.json()["guideline_url"] == "/pages/community-guidelines/nudity_sexual/"
    assert api_for(second).post("/api/v1/reports", {
        "target_type": "post", "target_id": str(post.pk), "policy": "nudity_sexual"},
        format="json").status_code == 201
    case_open_or_merge(target_type="post", target_id=post.pk, source="automated",
                       policy="nudity_sexual", evidence={"detector": "nudenet",
                                                         "explicit": 0.93})
    case = Case.objects.get()
    assert (case.queue, case.reports_count, case.status) == ("general", 2, "open")

    # when a moderator (who also reviews appeals) takes the next case of the general queue
    first_mod = moderator("Moderators", "Appeals reviewers", username="mod_one")
    web = web_for(first_mod)
    response = web.post("/moderation/next", {"queue": "general"})
    assert response.status_code == 302
    assert response["Location"] == f"/moderation/cases/{case.pk}/"
    page = web.get(response["Location"]).content.decode()
    # then the review page shows the video player, the reports and the evidence
    assert "dist/hls.js" in page
    assert 'id="player"' in page
    assert re.search(r'data-hls="[^"]*/api/v1/media/play/\d+/[^"/]+/hls/master.m3u8"', page)
    assert "a video someone reports" in page
    assert "explicit at 0:03" in page
    assert "nudenet" in page
    assert "You hold this case" in page

    # when they press "r" (remove + strike): the POST the shortcut's button makes
    form = _shortcut_form(page, "r")
    assert form["decision"] == "remove"
    response = web.post(form.pop("action"), form)
    assert response.status_code == 302

    # then the video is down, the creator has a strike, the case is closed
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    assert active_strikes(creator.pk) == 1
    case.refresh_from_db()
    assert (case.status, case.resolution, case.resolved_by_id) == ("closed", "actioned",
                                                                   first_mod.pk)
    # the reporters see the outcome
    mine = api_for(first).get("/api/v1/me/reports").json()["results"]
    assert [r["outcome"] for r in mine] == ["action_taken"]
    # the creator is told why, with the rule's page
    notices = api_for(creator).get("/api/v1/me/notices").json()["results"]
    removal = next(n for n in notices if n["kind"] == "remove")
    assert removal["title"] == "Your video was removed"
    assert "Nudity and sexual content" in removal["body"]
    assert removal["guideline_url"] == "/pages/community-guidelines/nudity_sexual/"
    assert removal["can_appeal"] is True
    assert any(n["kind"] == "strike" for n in notices)
    # and that link is a real, seeded guidelines page
    call_command("seed_help_centre")
    guideline = web_for(creator).get(removal["guideline_url"])
    assert guideline.status_code == 200
    assert "Nudity and sexual content" in guideline.content.decode()

    # when the creator appeals
    response = api_for(creator).post("/api/v1/appeals", {
        "action_id": removal["action_id"], "statement": "It was a medical video."},
        format="json")
    assert response.status_code == 201, response.json()
    appeal_case = Case.objects.get(kind="appeal")
    assert appeal_case.queue == "appeals"
    # then the moderator who decided cannot take it (even with the appeals permission)
    assert web.post("/moderation/next", {"queue": "appeals"})["Location"] == "/moderation/"
    web.post(f"/moderation/cases/{appeal_case.pk}/claim")
    appeal_case.refresh_from_db()
    assert appeal_case.assigned_to_id is None
    # but another moderator does, and overturns with one key ("o")
    second_mod = moderator("Appeals reviewers", username="mod_two")
    other = web_for(second_mod)
    other.post(f"/moderation/cases/{appeal_case.pk}/claim")
    page = other.get(f"/moderation/cases/{appeal_case.pk}/").content.decode()
    assert "It was a medical video." in page
    form = _shortcut_form(page, "o")
    assert other.post(form.pop("action"), form).status_code == 302

    # then everything is restored: the post is published again and the strike is gone
    restored = Post.objects.get(pk=post.pk)
    assert restored.status == Post.Status.PUBLISHED
    assert active_strikes(creator.pk) == 0
    assert Strike.objects.get(user=creator).removed_at is not None
    assert Appeal.objects.get().status == "overturned"
    assert set(EnforcementAction.objects.filter(reversed_at__isnull=False)
               .values_list("action", flat=True)) == {"remove", "strike"}
    granted = api_for(creator).get("/api/v1/me/notices").json()["results"][0]
    assert granted["kind"] == "appeal_granted"
    assert granted["can_appeal"] is False
    # the post is visible to others again
    assert api_for(first).get(f"/api/v1/posts/{post.pk}").status_code == 200

    # and all of it is in the audit log, with who did it
    log = list(AuditEvent.objects.order_by("id").values_list("verb", "actor__username"))
    assert log == [
        ("case_opened", first.username), ("case_merged", second.username),
        ("case_merged", None), ("case_claimed", "mod_one"),
        ("enforce_remove", "mod_one"), ("enforce_strike", "mod_one"),
        ("case_decided", "mod_one"), ("appeal_filed", "creator"),
        ("case_claimed", "mod_two"), ("enforce_restore", "mod_two"),
        ("appeal_decided", "mod_two"), ("case_decided", "mod_two"),
    ]
    assert Report.objects.filter(outcome="action_taken").count() == 2


def test_an_appeal_is_refused_twice_after_the_window_and_for_other_peoples_decisions(
        api_for, settings):
    creator, stranger = UserFactory(), UserFactory()
    post = PostFactory(author=creator)
    from apps.moderation.services import enforce

    action = enforce(action="remove", target_type="post", target_id=post.pk,
                     policy="spam_scam", reason="link spam")
    # someone else's decision does not exist for them
    response = api_for(stranger).post("/api/v1/appeals", {"action_id": str(action.pk)},
                                      format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert api_for(creator).post("/api/v1/appeals", {"action_id": str(action.pk)},
                                 format="json").status_code == 201
    again = api_for(creator).post("/api/v1/appeals", {"action_id": str(action.pk)},
                                  format="json")
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_appealed"
    # past the window
    late = enforce(action="age_restrict", target_type="post", target_id=post.pk,
                   policy="spam_scam", reason="x")
    settings.SWIPEME_MODERATION_APPEAL_DAYS = 0
    response = api_for(creator).post("/api/v1/appeals", {"action_id": str(late.pk)},
                                     format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "appeal_window_closed"
    assert Appeal.objects.count() == 1


def test_an_upheld_appeal_changes_nothing_and_says_so(api_for, web_for, moderator):
    creator = UserFactory()
    post = PostFactory(author=creator)
    from apps.moderation.services import case_claim, case_decide, enforce

    action = enforce(action="remove", target_type="post", target_id=post.pk,
                     policy="spam_scam", reason="scam link")
    api_for(creator).post("/api/v1/appeals", {"action_id": str(action.pk)}, format="json")
    reviewer = moderator("Appeals reviewers")
    appeal_case = Case.objects.get(kind="appeal")
    case_claim(case_id=appeal_case.pk, moderator=reviewer)
    case_decide(case_id=appeal_case.pk, moderator=reviewer, decision="uphold",
                reason="The link is a known scam.")
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    assert Appeal.objects.get().status == "upheld"
    notice = api_for(creator).get("/api/v1/me/notices").json()["results"][0]
    assert notice["kind"] == "appeal_rejected"
    assert "known scam" in notice["body"]
