"""Issue 25's gaps: support resources for a cry for help (never a punishment), refused
direct messages that escalate (or count toward the sender's risk), link risk by
`fraudurl` under per-surface thresholds, and copy-paste campaigns grouped into one case.
The committed text heads are used (loaded once per process); URLs are strings only (the
link model never resolves or visits them)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.core.ids import allocate_ids
from apps.core.models import AuditEvent
from apps.live.chat import filters as chat_filters
from apps.messaging import policy as messaging_policy
from apps.messaging import services as messaging
from apps.moderation.detection import links, minhash, services
from apps.moderation.detection.engine import Verdict
from apps.moderation.detection.models import (
    Campaign,
    Outcome,
    SupportResource,
    SurfaceThreshold,
    TextRefusal,
)
from apps.moderation.detection.services import campaigns, refusals
from apps.moderation.models import Case, EnforcementAction, MessageEvidence, Notice
from apps.moderation.policies import Policy
from apps.notifications.services.texts import sentence
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.messaging.helpers import direct, send
from tests.messaging.safety import person, refused
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _seeded_resources(db: None) -> None:
    """The starting list moderation_detection 0007 seeds: a transactional test's flush
    earlier in this worker empties every table, migration data included."""
    seed = import_module("apps.moderation.detection.migrations.0007_support_links_campaigns")
    seed.seed_resources(django_apps, None)

SELF_HARM_FR = "je ne veux plus vivre, ce soir je vais en finir avec mes médicaments"
SELF_HARM_EN = "I can't do this anymore, I want to end my life tonight"
GROOMING = "how old are you? 12? send me a pic in your underwear and don't tell your mom"
THREAT_ES = "sé dónde vives y mañana te voy a matar con un cuchillo"
GAMING = "that boss killed me five times lol, next run I'm destroying him"
PHISHING = "your account is locked, verify here https://paypal.com.secure-login-verify.xyz/account/update?id=3"
GIFT = "free gift card for everyone: http://free-gift-card-amazon.claim-now.top/win.html"
SAFE_LINK = "the article is at https://en.wikipedia.org/wiki/Cat and www.bbc.co.uk/news"


def _comment(author: User, text: str) -> Comment:
    return Comment.objects.create(
        id=allocate_ids(1)[0],
        post=PostFactory(),
        author=author,
        text=text,
        created_at=timezone.now(),
        rank=0,
    )


def _sources(verdict: Verdict) -> dict[str, str]:
    return {d.source: d.outcome for d in verdict.decisions if d.outcome != Outcome.ALLOW}


# --- 1. support resources ---------------------------------------------------------------


def test_a_cry_for_help_is_answered_with_support_resources_not_a_punishment(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    SupportResource.objects.create(
        name="SOS Amitié",
        phone="09 72 39 40 50",
        url="https://www.sos-amitie.com/",
        language="fr",
        order=50,
    )
    author = UserFactory(language="fr")
    comment = _comment(author, SELF_HARM_FR)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.comment_scan(comment_id=comment.pk)
        # a second one the same day tells nothing new
        services.comment_scan(comment_id=_comment(author, SELF_HARM_FR + " vraiment").pk)
    run_notification_tasks()
    # held for a person to look (support), never removed, no notice or action against them
    assert outcome == Outcome.REVIEW
    assert Case.objects.get(target_type="comment", target_id=comment.pk).policy == Policy.SELF_HARM
    assert not EnforcementAction.objects.filter(subject_id=author.pk).exists()
    assert not Notice.objects.filter(user=author).exists()
    (note,) = inbox_of(author.pk)
    assert note.type == "support_resources"
    # the person's language first, then the seeded directories, each in words
    assert [r["name"] for r in note.data["resources"]][:2] == ["SOS Amitié", "Find A Helpline"]
    title, body = sentence(note, {})
    assert title == "You're not alone"
    assert "09 72 39 40 50" in body
    assert "https://findahelpline.com/" in body
    # a direct message reading the same way is never refused; gaming talk offers nothing
    a, b = person(language="en"), person()
    conversation = direct(a, b)
    assert send(a, conversation, SELF_HARM_EN).seq == 1
    send(b, conversation, GAMING)
    run_notification_tasks()
    assert [n.type for n in inbox_of(a.pk)] == ["support_resources"]
    assert not [n for n in inbox_of(b.pk) if n.type == "support_resources"]


def test_staff_edit_the_support_resources_in_the_admin_and_it_is_audited() -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    web = Client()
    web.force_login(staff)
    response = web.post(
        "/django-admin/moderation_detection/supportresource/add/",
        {
            "name": "Telefon der Hoffnung",
            "description": "Rund um die Uhr, anonym.",
            "url": "",
            "phone": "0800 111 0 111",
            "language": "de",
            "order": "5",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = SupportResource.objects.get(language="de")
    event = AuditEvent.objects.get(app="moderation_detection", verb="supportresource_add")
    assert (event.actor_id, event.target_id) == (staff.pk, row.pk)
    assert services.support.resources_for("de-AT")[0]["phone"] == "0800 111 0 111"
    # a row with neither a phone nor an address is refused by the database
    assert (
        web.post(
            "/django-admin/moderation_detection/supportresource/add/",
            {"name": "nothing", "language": "de", "order": "1"},
        ).status_code
        == 200
    )


# --- 2. refused direct messages -------------------------------------------------------------


def test_a_dm_refused_for_a_minors_safety_or_a_threat_opens_a_case_with_the_text_kept(
    moderator: Callable[..., User], web_for: Callable[[User], Client]
) -> None:
    a, b = person(), person()
    error = refused(lambda: send(a, direct(a, b), GROOMING), "message_refused")
    assert "wasn't sent" in error.message
    kept = MessageEvidence.objects.get(sender=a)
    assert (kept.body, kept.report_id, kept.attachment) == (GROOMING, None, {"state": "refused"})
    case = Case.objects.get(target_type="message", target_id=kept.message_id)
    assert (case.policy, case.queue, case.source, case.priority) == (
        Policy.MINOR_SAFETY,
        "minor_safety",
        "automated",
        0,
    )
    assert case.subject_id == a.pk
    assert case.evidence[-1]["text"] == GROOMING
    # the moderator sees the kept text on the case page (and the look is audited)
    mod = moderator("Minor safety specialists", "Senior moderators")
    page = web_for(mod).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert 'id="dm-refused"' in page
    assert "send me a pic in your underwear" in page
    # a threat to a stranger (in their Requests) is refused and escalated too
    stranger = person()
    request = messaging.start_direct(stranger, person())
    refused(lambda: send(stranger, request, THREAT_ES), "message_refused")
    assert Case.objects.filter(subject_id=stranger.pk, policy=Policy.VIOLENCE_GRAPHIC).count() == 1
    assert list(
        TextRefusal.objects.filter(escalated=True).values_list("user_id", flat=True).order_by("id")
    ) == [a.pk, stranger.pk]


def test_other_refused_dms_count_toward_the_senders_risk() -> None:
    a, b = person(), person()
    conversation = direct(a, b)
    spam = "win now https://bit.ly/a1 https://bit.ly/b2"
    refused(lambda: send(a, conversation, spam), "message_refused")
    # recorded, not escalated; the sender's next texts carry it in the spam signal
    assert TextRefusal.objects.get(user=a).escalated is False
    assert not Case.objects.filter(subject_id=a.pk).exists()
    signal = services._spam_signal(
        author=a,
        content="hello there friend",
        exclude_post_id=None,
        exclude_comment_id=None,
        conf=services.detection_settings(),
    )
    assert (signal["refusals"], signal["score"]) == (1, refusals.REFUSAL_WEIGHT)
    for n in range(refusals.REFUSALS_FOR_CASE - 1):
        body = f"{spam} {n}"
        refused(lambda: send(a, conversation, body), "message_refused")  # noqa: B023
    case = Case.objects.get(target_type="user", target_id=a.pk)
    assert case.evidence[-1]["refusals"] == refusals.REFUSALS_FOR_CASE


# --- 3. link risk ------------------------------------------------------------------------------


def test_risky_links_are_scored_and_held_or_refused_per_surface() -> None:
    scored = {r.url: r.probability for r in links.link_risks(f"{PHISHING} {SAFE_LINK} bit.ly/x")}
    assert scored["https://paypal.com.secure-login-verify.xyz/account/update?id=3"] > 0.95
    assert scored["https://en.wikipedia.org/wiki/Cat"] < 0.2
    assert "bit.ly/x" not in scored  # shorteners are the spam signal's
    for field, expected in (
        ("caption", Outcome.REVIEW),
        ("bio", Outcome.REVIEW),
        ("text", Outcome.BLOCK),
        ("message", Outcome.BLOCK),
        ("live_chat", Outcome.BLOCK),
    ):
        verdict = services.text_verdict(content=GIFT, author=None, language="en", field=field)
        assert _sources(verdict).get("link_risk") == expected, field
    assert "link_risk" not in _sources(
        services.text_verdict(content=SAFE_LINK, author=None, language="en", field="message")
    )
    # refused in words: a direct message, a live chat line
    a, b = person(), person()
    error = refused(lambda: send(a, direct(a, b), PHISHING), "message_refused")
    assert error.message == messaging_policy.LINK_REFUSAL
    hide = chat_filters.check(a, GIFT)
    assert hide is not None
    assert "spam" in hide.words.lower()
    # a comment is removed and its scan keeps each link's probability and reasons
    comment = _comment(UserFactory(), GIFT)
    assert services.comment_scan(comment_id=comment.pk) == Outcome.BLOCK
    case = Case.objects.get(target_type="comment", target_id=comment.pk)
    assert {d["source"] for d in case.evidence[-1]["decisions"]} >= {"link_risk"}
    # staff turn link risk off on comments: only the other signals remain
    SurfaceThreshold.objects.create(category="link_risk", surface="comment", is_active=False)
    assert "link_risk" not in _sources(
        services.text_verdict(content=GIFT, author=None, language="en", field="text")
    )


# --- 4. copy-paste campaigns ------------------------------------------------------------


CAMPAIGN = [
    "Earn $500 a day from home!! DM me now for the secret method, limited spots #money",
    "earn $500 a day from home! dm me NOW for the secret method, limited spots left #cash",
    "Earn $500 a day from home. DM me now for the secret method - limited spots @friend",
    "EARN $500 A DAY FROM HOME!!! DM ME NOW FOR THE SECRET METHOD, LIMITED SPOTS",
    "earn $500 a day from home, dm me now for the secret method, limited spots!!",
    "Earn $500 a day from home 💸 DM me now for the secret method, limited spots",
]
UNRELATED = [
    "Loved this recipe, I tried it with less sugar and it still tasted amazing",
    "Where did you buy that jacket? I have been looking for one like it all winter",
    "The drone shot at the end of the video is stunning, which camera do you use",
    "My cat does exactly the same thing every morning at six, it is hilarious",
    "Earn your black belt by training every day, that is what my coach always says",
    "Can you make a tutorial about the transition at 0:12 please, it looks so smooth",
]


def test_a_copy_paste_campaign_across_accounts_becomes_one_case(
    moderator: Callable[..., User], web_for: Callable[[User], Client]
) -> None:
    assert (
        minhash.similarity(
            minhash.signature(CAMPAIGN[0]) or [], minhash.signature(CAMPAIGN[3]) or []
        )
        >= 0.7
    )
    comments = [_comment(UserFactory(), text) for text in CAMPAIGN]
    for comment in comments[:4]:
        services.comment_scan(comment_id=comment.pk)
    assert not Campaign.objects.exists()  # four accounts: not yet (five by default)
    for comment in comments[4:]:
        services.comment_scan(comment_id=comment.pk)
    campaign = Campaign.objects.get()
    assert campaign.accounts == 6
    assert (campaign.case_target_type, campaign.case_target_id) == ("comment", comments[0].pk)
    case = Case.objects.get(target_type="comment", target_id=comments[0].pk)
    entries = [e for e in case.evidence if e.get("campaign_id") == str(campaign.pk)]
    assert [e["campaign_accounts"] for e in entries] == [5, 6]
    assert len(campaigns.campaign_members(campaign.pk)) == 6
    # the moderator sees the campaign's members on the case page
    mod = moderator("Moderators", "Senior moderators")
    page = web_for(mod).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert "campaign" in page.lower()
    assert "secret method" in page
    # one account repeating itself is not a campaign (the spam signal's repeats are)
    same = UserFactory()
    for text in CAMPAIGN[:5]:
        services.comment_scan(comment_id=_comment(same, text + " again").pk)
    assert Campaign.objects.count() == 1


def test_unrelated_texts_are_never_grouped() -> None:
    for text in UNRELATED:
        services.comment_scan(comment_id=_comment(UserFactory(), text).pk)
    assert not Campaign.objects.exists()
    sigs = [minhash.signature(t) or [] for t in UNRELATED]
    assert max(minhash.similarity(x, y) for i, x in enumerate(sigs) for y in sigs[i + 1 :]) < 0.3
    assert minhash.signature("nice video!!") is None  # too short to tell


def test_the_dm_composer_answers_with_support_resources(
    api_for: Callable[[User], APIClient],
) -> None:
    a, b = person(language="en"), person()
    conversation = direct(a, b)
    api = api_for(a)
    sent = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"client_id": "s1", "kind": "text", "body": SELF_HARM_EN},
        format="json",
    )
    assert sent.status_code == 201, sent.content
    support = sent.json()["support"]
    assert support["title"] == "You're not alone"
    assert "https://findahelpline.com/" in [r["url"] for r in support["resources"]]
    plain = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"client_id": "s2", "kind": "text", "body": GAMING},
        format="json",
    )
    assert plain.status_code == 201
    assert plain.json()["support"] is None
