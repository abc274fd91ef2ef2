"""Text moderation: the shipped classifier on clear examples, staff term lists per language,
spam signals, and hostile input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.comments.models import Comment
from apps.core.ids import allocate_ids
from apps.moderation.detection import services, text
from apps.moderation.detection.models import (
    Outcome,
    PolicyRule,
    Scan,
    SurfaceThreshold,
    TermList,
)
from apps.moderation.policies import Policy
from tests.content.factories import PostFactory
from tests.factories import UserFactory


@pytest.mark.parametrize("sentence", [
    "you are a fucking idiot", "shut up you stupid bitch", "this is bullshit, screw you",
])
def test_the_classifier_scores_clear_abuse_high(sentence):
    assert text.abuse_score(sentence) > 0.9


@pytest.mark.parametrize("sentence", [
    "what a lovely day at the beach with my family", "new recipe: lemon cake with berries",
    "learning to play the guitar, day 12",
])
def test_the_classifier_scores_clear_innocent_text_low(sentence):
    assert text.abuse_score(sentence) < 0.2


def test_the_direct_classifier_gives_the_libraries_probabilities():
    """`text._abuse_model` does the calibrated linear model's arithmetic itself (live chat's
    posts pay ~1 ms instead of scikit-learn's ~5 ms of checks): the same numbers."""
    from profanity_check import predict_prob

    sentences = [
        "you are a fucking idiot", "what a lovely day at the beach", "bench 7 great stream",
        "shut up you stupid bitch", "learning to play the guitar, day 12", "ok", "!!!",
        "s h i t happens", "new recipe: lemon cake with berries", "you absolute scumbag",
    ]
    direct = text._abuse_model()
    assert direct is not predict_prob  # the shipped model has the shape it expects
    assert list(direct(sentences)) == pytest.approx(list(predict_prob(sentences)), abs=1e-9)


def test_folding_undoes_leetspeak_lookalikes_invisible_characters_and_spacing():
    assert text.tokens("ѕhіt") == ["shit"]  # Cyrillic look-alikes
    assert text.tokens("sh\u200bit") == ["shit"]  # a zero-width space inside the word
    assert text.tokens("$h1t!!!") == ["shit"]
    assert text.tokens("s h i t happens") == ["shit", "happens"]
    assert text.tokens("f.r.e.e m.o.n.e.y") == ["freemoney"]


@pytest.mark.django_db
def test_term_lists_apply_per_language_and_fold_the_text(db):
    english = TermList.objects.create(name="scam words", language="en", policy=Policy.SPAM_SCAM,
                                      terms="free money\n# a comment line\ncrypto doubler",
                                      outcome=Outcome.REVIEW)
    TermList.objects.create(name="mots", language="fr", policy=Policy.HATE_HARASSMENT,
                            terms="connard", outcome=Outcome.BLOCK)
    author = UserFactory()
    for content, language, outcome in [
        ("get FR33 M0NEY now", "en", Outcome.REVIEW),
        ("get f r e e   money now", "en-GB", Outcome.REVIEW),
        ("espèce de connard", "fr", Outcome.BLOCK),
        ("espèce de connard", "en", Outcome.ALLOW),  # the French list does not apply
        ("free moneyyyy", "fr", Outcome.ALLOW),      # nor the English one here
    ]:
        verdict, scan = services.text_scan(target_type="post", target_id=1, field="caption",
                                           content=content, author=author, language=language,
                                           trigger=Scan.Trigger.PUBLISH)
        assert verdict.outcome == outcome, (content, language)
        if outcome != Outcome.ALLOW:
            assert scan.matches[0]["source"] == "terms"
    # a word inside another word is not a hit (no Scunthorpe problem) ...
    verdict, _ = services.text_scan(target_type="post", target_id=1, field="caption",
                                    content="visit Scunthorpe", author=None, language="en",
                                    trigger=Scan.Trigger.PUBLISH)
    english.terms = "cunt"
    english.save()
    assert services.text_scan(target_type="post", target_id=1, field="caption",
                              content="visit Scunthorpe", author=None, language="en",
                              trigger=Scan.Trigger.PUBLISH)[0].outcome == Outcome.ALLOW
    # ... except in a username, which has no spaces to hide a word behind
    assert services.text_scan(target_type="user", target_id=1, field="username",
                              content="xx_cunt_xx", author=None, language="en",
                              trigger=Scan.Trigger.PROFILE)[0].outcome == Outcome.REVIEW


@pytest.mark.django_db
def test_abusive_text_is_limited_or_reviewed_under_the_hate_rule():
    verdict, scan = services.text_scan(target_type="comment", target_id=5, field="text",
                                       content="you are a fucking idiot", author=None,
                                       trigger=Scan.Trigger.COMMENT)
    assert verdict.outcome == Outcome.REVIEW
    assert verdict.policy == Policy.HATE_HARASSMENT
    assert scan.scores["abuse"] > 0.97
    assert scan.model_versions["classifier"]
    PolicyRule.objects.filter(policy=Policy.HATE_HARASSMENT).update(review_at=None)
    # the harassment head holds it on its own thresholds (per surface): silence it here
    SurfaceThreshold.objects.create(category="harassment", surface="comment")
    verdict, _ = services.text_scan(target_type="comment", target_id=5, field="text",
                                    content="you are a fucking idiot", author=None,
                                    trigger=Scan.Trigger.COMMENT)
    assert verdict.outcome == Outcome.LIMIT_REACH


@pytest.mark.django_db
def test_link_spam_repeated_text_and_new_account_velocity_are_spam_signals():
    old = UserFactory(date_joined=timezone.now() - timedelta(days=300))
    scores = services._spam_signal(author=old, content="great video, thanks for sharing",
                                   exclude_post_id=None, exclude_comment_id=None,
                                   conf=services.detection_settings())
    assert scores["score"] == 0

    links = services._spam_signal(
        author=old, content="WIN NOW http://bit.ly/abc www.cheap-pills.xyz deals.top",
        exclude_post_id=None, exclude_comment_id=None, conf=services.detection_settings())
    assert links["link_count"] == 3
    assert links["score"] == 1.0

    line = "follow me and I follow you back, check my profile"
    for _ in range(3):
        PostFactory(author=old, caption=f"{line} #f4f")
    repeated, scan = services.text_scan(target_type="post", target_id=1, field="caption",
                                        content=line.upper(), author=old,
                                        trigger=Scan.Trigger.PUBLISH)
    assert scan.scores["spam"]["repeats"] == 3
    assert repeated.outcome == Outcome.REVIEW
    assert repeated.policy == Policy.SPAM_SCAM

    new = UserFactory()  # joined just now
    post = PostFactory(author=new)
    Comment.objects.bulk_create([
        Comment(id=i, post_id=post.pk, author_id=new.pk, text=f"comment {i}",
                created_at=timezone.now(), rank=0)
        for i in allocate_ids(80)])
    fast = services._spam_signal(author=new, content="hello", exclude_post_id=None,
                                 exclude_comment_id=None, conf=services.detection_settings())
    assert fast["velocity"] > 0.6
    # the same activity from an old account is not a signal
    assert services._spam_signal(author=old, content="hello", exclude_post_id=None,
                                 exclude_comment_id=None,
                                 conf=services.detection_settings())["velocity"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("hostile", [
    "a" * 200_000,
    "\x00\x01\x02" * 1000 + "hello",
    "\u202eesrever\u202c text with a direction override",
    "e\u0301" * 20_000,  # a flood of combining accents
    "💩" * 10_000,
    "((((((((((((((((((((a" * 1000,
    "\ud800 lone surrogate",
    "http://" + "a." * 5000 + "com",
    "",
])
def test_hostile_text_is_scanned_quickly_without_crashing(hostile):
    TermList.objects.create(name="t", policy=Policy.HATE_HARASSMENT, terms="idiot\n(((")
    verdict, scan = services.text_scan(target_type="comment", target_id=9, field="text",
                                       content=hostile, author=UserFactory(),
                                       trigger=Scan.Trigger.COMMENT)
    assert verdict.outcome in Outcome.values
    assert Scan.objects.get(pk=scan.pk).scores["length"] == len(hostile)
