"""A reported direct message on the review page in headless Chromium, phone and desktop:
the copies the report kept, the reported one marked, long words wrapped inside the
panel; screenshots go to var/artifacts/screenshots/ (and /tmp/shots-h3 while building)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from apps.messaging import reporting, services
from apps.messaging.models import Message
from apps.moderation.groups import setup_groups
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import UserFactory
from tests.messaging.helpers import friends

SHOTS = Path("/tmp/shots-h3")


def _moderator() -> Any:
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True, username="mod_dm")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def _reported_case() -> Any:
    sender, reporter = UserFactory(username="pushy_sam"), UserFactory(username="lena")
    friends(sender, reporter)
    conversation = services.start_direct(sender, reporter)
    lines = ["hey lena", "hi!", "send me your address", "why?", "just do it or else",
             "stop it", "you'll regret this " + "x" * 120, "blocking you now"]
    sent = []
    for i, line in enumerate(lines):
        author = sender if i % 2 == 0 else reporter
        sent.append(services.send_message(author, conversation.pk, client_id=str(uuid.uuid4()),
                                          kind=Message.Kind.TEXT, body=line)[0])
    report = reporting.report_messages(reporter, conversation.pk,
                                       message_ids=[sent[4].pk, sent[6].pk],
                                       policy="hate_harassment", details="threats")
    return report.case


def test_the_review_page_shows_reported_messages_on_phone_and_desktop(logged_in_page: Any,
                                                                     page_errors: Any) -> None:
    setup_groups()
    case = _reported_case()
    moderator = _moderator()
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = logged_in_page(moderator, viewport=viewport, touch=name == "phone")
        page.goto(f"/moderation/cases/{case.pk}/")
        evidence = page.locator(".dm-evidence")
        evidence.wait_for()
        assert evidence.locator(".dm-msg").count() == 7  # 8 sent; "hey lena" is out of reach
        assert evidence.locator(".dm-msg.reported").count() == 2
        assert "just do it or else" in evidence.locator(".dm-msg.reported").first.inner_text()
        # the marked rows stand out, and a long word stays inside its panel
        marked = evidence.locator(".dm-msg.reported").first.evaluate(
            "e => getComputedStyle(e).borderLeftColor")
        assert marked != "rgba(0, 0, 0, 0)"
        assert evidence.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        # and the page fits the screen (the review page's columns stack on a phone)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"moderation-dm-report-{name}", full_page=True, copy_to=SHOTS)
    assert not page_errors.uncaught, page_errors.uncaught
