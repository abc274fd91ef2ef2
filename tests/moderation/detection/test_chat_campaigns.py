"""Copy-paste campaigns over direct messages and live chat (issue 25): the text check
messaging and live already call (`text_verdict`) queues each longer text for the MinHash
campaign detector after its transaction commits; five accounts sending nearly the same text
within the hour are one campaign and one review case. A direct message's text is kept only
once the detector flags it; its conversation and recipients never are."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from apps.accounts.models import User
from apps.live.chat import services as chat
from apps.moderation.detection import tasks
from apps.moderation.detection.models import Campaign, TextFingerprint
from apps.moderation.detection.services import campaigns
from apps.moderation.models import Case
from tests.conftest import waiting_task_args
from tests.factories import UserFactory
from tests.live.live_helpers import host, on_air
from tests.messaging.helpers import direct, send

pytestmark = pytest.mark.django_db

TASK = "apps.moderation.detection.fingerprint_chat_text"
VARIANTS = [
    "Vote for my cousin Ana in the city talent show tonight, it takes one minute please",
    "vote for my cousin ana in the city talent show TONIGHT! it takes one minute please",
    "Vote for my cousin Ana in the city talent show tonight - it takes one minute, please!!",
    "VOTE FOR MY COUSIN ANA IN THE CITY TALENT SHOW TONIGHT, IT TAKES ONE MINUTE PLEASE",
    "vote for my cousin Ana in the city talent show tonight 🙏 it takes one minute please",
]


def _run_queued(authors: set[int]) -> list[str]:
    """The fingerprint tasks the sends queued on the broker (this test's authors), run in
    the order a worker takes them (the queue is pushed on the left, popped on the right)."""
    return [
        tasks.fingerprint_chat_text.apply(args=args).get()
        for args in reversed(waiting_task_args(TASK))
        if args[0] in authors
    ]


def test_direct_messages_and_chat_lines_form_one_campaign_and_one_case(
    broker_unconsumed: None,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
    moderator: Callable[..., User],
    web_for: Callable[[User], Any],
) -> None:
    senders = [UserFactory() for _ in range(3)]
    for sender, text in zip(senders, VARIANTS[:3], strict=True):
        send(sender, direct(sender, UserFactory()), text)
    send(senders[0], direct(senders[0], UserFactory()), "ok see you at six")  # too short
    live, _ = on_air(host())
    viewers = [UserFactory() for _ in range(2)]
    for viewer, text in zip(viewers, VARIANTS[3:], strict=True):
        with django_capture_on_commit_callbacks(execute=True):
            chat.chat_post(viewer, live.pk, text)
    authors = {u.pk for u in senders + viewers}
    assert len(waiting_task_args(TASK)) >= 5
    results = _run_queued(authors)
    assert sorted(results) == ["campaign", "recorded", "recorded", "recorded", "recorded"]

    campaign = Campaign.objects.get()
    assert campaign.accounts == 5
    # it started with a direct message, whose id moderation never sees: the sender's account
    assert (campaign.case_target_type, campaign.case_target_id) == ("user", senders[0].pk)
    case = Case.objects.get(target_type="user", target_id=senders[0].pk)
    [entry] = [e for e in case.evidence if e.get("campaign_id") == str(campaign.pk)]
    assert entry["member"]["surface"] == "live_chat"  # the fifth account tipped it
    # private: the DMs the detector did not flag keep no text, only their fingerprint
    dms = TextFingerprint.objects.filter(surface="message", author__in=senders)
    assert dms.count() == 3
    assert set(dms.values_list("text", flat=True)) == {""}
    assert "conversation" not in json.dumps(case.evidence)
    page = web_for(moderator("Moderators")).get(f"/moderation/cases/{case.pk}/")
    assert "talent show" in page.content.decode().lower()
    # a task delivered twice adds nothing
    again = [args for args in waiting_task_args(TASK) if args[0] == viewers[-1].pk]
    assert tasks.fingerprint_chat_text.apply(args=again[-1]).get() == "recorded"
    assert TextFingerprint.objects.filter(author=viewers[-1]).count() == 1


def test_a_flagged_direct_message_keeps_its_text_as_evidence(
    broker_unconsumed: None,
) -> None:
    others = [UserFactory() for _ in range(4)]
    for user, text in zip(others, VARIANTS[:4], strict=True):  # the same text in four bios
        campaigns.text_fingerprint_record(
            author_id=user.pk,
            surface="profile",
            target_type="user",
            target_id=user.pk,
            content=text,
        )
    sender = UserFactory()
    send(sender, direct(sender, UserFactory()), VARIANTS[4])
    assert _run_queued({sender.pk}) == ["campaign"]
    mine = TextFingerprint.objects.get(author=sender)
    assert (mine.surface, mine.text) == ("message", VARIANTS[4])
    campaign = Campaign.objects.get()
    assert (campaign.case_target_type, campaign.case_target_id) == ("user", others[0].pk)
    assert campaign.accounts == 5
