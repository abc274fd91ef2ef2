"""The two services automated detection codes against: case_open_or_merge and enforce."""

from __future__ import annotations

import pytest

from apps.content.models import Post
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.moderation.models import AuditEvent, Case, EnforcementAction, Notice, Report, Strike
from apps.moderation.services import case_open_or_merge, enforce
from tests.content.factories import PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_reports_and_automated_flags_of_one_target_merge_into_one_case():
    post = PostFactory()
    first, second = UserFactory(), UserFactory()

    flagged = case_open_or_merge(target_type="post", target_id=post.pk, source="automated",
                                 policy="nudity_sexual", priority=2,
                                 evidence={"detector": "nudenet", "score": 0.91})
    reported = case_open_or_merge(target_type="post", target_id=post.pk, source="report",
                                  policy="nudity_sexual", reporter=first, reason="nsfw")
    again = case_open_or_merge(target_type="post", target_id=post.pk, source="report",
                               policy="minor_safety", reporter=second)

    assert flagged.pk == reported.pk == again.pk
    case = Case.objects.get(pk=flagged.pk)
    assert case.reports_count == 2
    assert case.evidence[0]["detector"] == "nudenet"
    assert case.evidence[0]["score"] == 0.91
    assert case.subject_id == post.author_id
    # A minor-safety report moves the case to that queue at the top priority.
    assert (case.queue, case.priority, case.policy) == ("minor_safety", 0, "minor_safety")
    assert Report.objects.filter(case=case).count() == 2
    assert list(AuditEvent.objects.filter(case=case).values_list("verb", flat=True)
                .order_by("id")) == ["case_opened", "case_merged", "case_merged"]


def test_one_open_report_per_reporter_and_target():
    post, reporter = PostFactory(), UserFactory()
    case_open_or_merge(target_type="post", target_id=post.pk, source="report",
                       policy="spam_scam", reporter=reporter)
    with pytest.raises(ConflictError):
        case_open_or_merge(target_type="post", target_id=post.pk, source="report",
                           policy="spam_scam", reporter=reporter)
    assert Report.objects.count() == 1
    assert Case.objects.get().reports_count == 1


@pytest.mark.parametrize("kwargs", [
    {"target_type": "planet"}, {"source": "rumour"}, {"policy": "bad_vibes"},
])
def test_bad_contract_input_is_refused(kwargs):
    post = PostFactory()
    args = {"target_type": "post", "target_id": post.pk, "source": "automated",
            "policy": "spam_scam", **kwargs}
    with pytest.raises(ApplicationError):
        case_open_or_merge(**args)
    assert not Case.objects.exists()


def test_a_missing_target_is_not_found():
    with pytest.raises(NotFoundError):
        case_open_or_merge(target_type="post", target_id=123, source="automated",
                           policy="spam_scam")


def test_automated_enforcement_is_audited_without_an_actor_and_notifies():
    post = PostFactory()
    row = enforce(action="age_restrict", target_type="post", target_id=post.pk,
                  policy="violence_graphic", reason="classifier score 0.97")
    post.refresh_from_db()
    assert post.age_restricted
    assert row.automated
    assert row.actor_id is None
    assert AuditEvent.objects.get(action=row).verb == "enforce_age_restrict"
    notice = Notice.objects.get(user=post.author)
    assert notice.guideline_url == "/pages/community-guidelines/violence_graphic/"

    strike = enforce(action="strike", target_type="post", target_id=post.pk,
                     policy="violence_graphic", reason="repeat")
    assert (strike.target_type, strike.target_id) == ("user", post.author_id)
    assert Strike.objects.get(action=strike).user_id == post.author_id

    enforce(action="remove", target_type="post", target_id=post.pk, policy="violence_graphic",
            reason="x")
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    assert EnforcementAction.objects.count() == 3


def test_no_violation_on_an_automated_block_restores_and_publishes_the_held_post(moderator):
    from apps.moderation.services import case_claim, case_decide

    post = PostFactory(status=Post.Status.REVIEWING, published_at=None)
    case = case_open_or_merge(target_type="post", target_id=post.pk, source="automated",
                              policy="nudity_sexual", priority=1,
                              evidence={"nudity": {"score": 0.97}})
    enforce(action="remove", target_type="post", target_id=post.pk, policy="nudity_sexual",
            reason="Removed by automated detection.", case=case)
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED

    mod = moderator("Moderators")
    case_claim(case_id=case.pk, moderator=mod)
    case_decide(case_id=case.pk, moderator=mod, decision="no_violation", reason="Art.")

    published = Post.objects.get(pk=post.pk)
    assert published.status == Post.Status.PUBLISHED
    assert published.published_at is not None
    removal = EnforcementAction.objects.get(action="remove")
    assert removal.reversed_by is not None
    assert removal.reversed_by.actor_id == mod.pk
    assert Notice.objects.filter(user=post.author, kind="restore").exists()


def test_removing_a_catalogue_sound_strikes_nobody(moderator):
    from apps.content.models import Sound
    from apps.moderation.services import case_claim, case_decide
    from tests.content.factories import LibrarySoundFactory

    sound = LibrarySoundFactory()
    case = case_open_or_merge(target_type="sound", target_id=sound.pk, source="automated",
                              policy="copyright")
    agent = moderator("Copyright agents")
    case_claim(case_id=case.pk, moderator=agent)
    case_decide(case_id=case.pk, moderator=agent, decision="remove")
    assert Sound.objects.get(pk=sound.pk).is_taken_down
    assert list(EnforcementAction.objects.values_list("action", flat=True)) == ["remove"]
    assert not Strike.objects.exists()
