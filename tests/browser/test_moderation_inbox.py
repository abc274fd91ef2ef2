"""Moderation's notices in the web inbox (issue 14: "the moderation notices that exist
today move onto this system"): told through the hooks, the outbox and the notifications
worker, a removal shows in words (what, why, the reason) with The rule, Details and an
Appeal button into the appeal form; an age restriction (not appealable once appealed)
and a reporter's outcome show in words too. Screenshots at 390x844 and 1440x900
(var/artifacts/screenshots/, /tmp/shots-h4/)."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.moderation.groups import setup_groups
from apps.moderation.models import Report
from apps.moderation.services import case_claim, case_decide, enforce, report_create
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.browser.test_inbox import _wait_for
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h4")


def _shot(page: Page, name: str) -> None:
    screenshot(page, name, copy_to=SHOTS)


def test_a_removal_reads_in_words_in_the_inbox_with_the_rule_and_the_appeal(
        logged_in_page, page_errors: PageErrors) -> None:  # type: ignore[no-untyped-def]
    creator = UserFactory(username="modinboxcreator")
    post = PublishedPostFactory(author=creator)
    # the creator reported someone's spam earlier: they hear what came of it
    spam = PublishedPostFactory()
    report_create(reporter=creator, target_type="post", target_id=spam.pk, policy="spam_scam")
    setup_groups()
    made = UserFactory(is_staff=True)
    made.groups.add(Group.objects.get(name="Moderators"))
    moderator = User.objects.get(pk=made.pk)
    case = Report.objects.get(reporter=creator).case
    case_claim(case_id=case.pk, moderator=moderator)
    case_decide(case_id=case.pk, moderator=moderator, decision="age_restrict")
    enforce(action="age_restrict", target_type="post",
            target_id=PublishedPostFactory(author=creator).pk, policy="violence_graphic",
            reason="Shows a real injury up close.")
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Sells fake concert tickets in the caption.")
    _wait_for(creator.pk, 3)

    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = logged_in_page(creator, viewport=viewport, touch=viewport == PHONE)
        page.goto("/inbox")
        removal = page.locator('[data-type="moderation_removal"]')
        expect(removal.locator(".inbox-title")).to_have_text("Your video was removed")
        expect(removal.locator(".inbox-body")).to_contain_text(
            "It goes against our Community Guidelines on Spam, scams and fake engagement.")
        expect(removal.locator(".inbox-body")).to_contain_text(
            "Reason: Sells fake concert tickets in the caption.")
        expect(removal.get_by_role("link", name="The rule")).to_have_attribute(
            "href", "/pages/community-guidelines/spam_scam/")
        expect(removal.get_by_role("link", name="Details")).to_have_attribute(
            "href", "/notices")
        appeal = removal.get_by_role("link", name="Appeal")
        expect(appeal).to_have_attribute("href", re.compile(r"^/moderation/appeal/[^/]+/$"))
        limit = page.locator('[data-type="moderation_limit"]')
        expect(limit.locator(".inbox-title")).to_have_text("Your video is age-restricted")
        outcome = page.locator('[data-type="report_outcome"]')
        expect(outcome.locator(".inbox-title")).to_have_text("We took action on your report")
        expect(outcome.locator(".inbox-body")).to_contain_text("Thank you for reporting it.")
        # it opens the rule reported (there is no page of one's reports on the web)
        expect(outcome.locator(".inbox-title")).to_have_attribute(
            "href", "/pages/community-guidelines/spam_scam/")
        # every row and its Appeal button fit the width (no sideways scrolling)
        for row in (removal, limit, outcome):
            box = row.bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= viewport["width"], size
        button = appeal.bounding_box()
        assert button is not None
        assert button["x"] + button["width"] <= viewport["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        _shot(page, f"moderation-inbox-{size}")
        # the Appeal button opens the appeal form of that decision
        appeal.click()
        page.wait_for_url(re.compile(r"/moderation/appeal/"))
        expect(page.locator("body")).to_contain_text("Sells fake concert tickets")
        page.context.close()

    # a decision made while the inbox is open arrives live, with its links (the live
    # row is the server's row: it had no Rule/Details/Appeal until a reload)
    page = logged_in_page(creator, viewport=PHONE, touch=True)
    page_errors.watch(page)
    page.goto("/inbox")
    page.wait_for_function(
        "() => sessionStorage.getItem('swipeme:notifications:seq') !== null", timeout=15000)
    rows = page.locator(".inbox-list > li")
    expect(rows).to_have_count(3)
    enforce(action="remove", target_type="post",
            target_id=PublishedPostFactory(author=creator).pk, policy="hate_harassment",
            reason="Insults a named person.")
    expect(rows).to_have_count(4, timeout=30000)
    live = rows.first
    expect(live).to_have_attribute("data-type", "moderation_removal")
    expect(live.locator(".inbox-title")).to_have_text("Your video was removed")
    expect(live.locator(".avatar-letter")).to_have_text("!")
    expect(live.get_by_role("link", name="The rule")).to_have_attribute(
        "href", "/pages/community-guidelines/hate_harassment/")
    expect(live.get_by_role("link", name="Details")).to_have_attribute("href", "/notices")
    expect(live.get_by_role("link", name="Appeal")).to_have_attribute(
        "href", re.compile(r"^/moderation/appeal/[^/]+/$"))
    _shot(page, "moderation-inbox-live-phone")
    assert page_errors.uncaught == []
