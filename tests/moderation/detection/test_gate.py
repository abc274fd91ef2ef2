"""The pre-publish gate: a post waits in `reviewing` until its upload is scanned; the
verdict removes it (with a case and an audited action), holds it for people, restricts it or
releases it; a crashing scan is retried and then handed to people; a rule or list change
re-scans what is already out."""

from __future__ import annotations

from typing import Any

import pytest

from apps.comments.services import comment_create
from apps.content import services as content
from apps.content.models import Post
from apps.core.models import OutboxTask
from apps.media import storage
from apps.moderation.detection import services, tasks
from apps.moderation.detection.models import (
    AssetCheck,
    DetectionSettings,
    Outcome,
    PolicyRule,
    RightsClaim,
    Scan,
    TermList,
)
from apps.moderation.detection.selectors import evidence_for
from apps.moderation.models import Case, EnforcementAction
from apps.moderation.policies import Policy
from tests.factories import UserFactory
from tests.moderation.detection.conftest import arrange_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("moderation_gate_live")]


def _post(author: Any, asset_id: int, caption: str = "my holiday video") -> Post:
    post = content.post_create(author=author, asset_id=asset_id, caption=caption)
    return Post.objects.get(pk=post.pk)


def test_a_post_waits_in_reviewing_until_the_scan_clears_it(media):
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    post = _post(author, asset.pk)
    assert post.status == Post.Status.REVIEWING  # playable, but not scanned yet

    assert services.asset_scan(asset_id=asset.pk) == Outcome.ALLOW
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED

    check = AssetCheck.objects.get(asset_id=asset.pk)
    assert check.state == AssetCheck.State.DONE
    scan = Scan.objects.get(target_type="asset", target_id=asset.pk)
    frames = scan.scores["nudity"]["frames"]
    assert len(frames) == check.features["frame_count"] >= 4
    assert all(0 <= f["explicit"] <= 1 and f["labels"] is not None for f in frames)
    assert set(scan.model_versions) == {"nudity", "opennsfw", "pdq", "audio", "image_safety",
                                        "ocr"}
    assert {"nudity", "pdq", "audio_fingerprint", "pdq_match", "audio_match"} \
        <= set(scan.timings_ms)
    evidence = evidence_for("post", post.pk)
    assert evidence["upload"]["state"] == "done"
    assert {s["kind"] for s in evidence["scans"]} == {"media", "text"}
    # a second trigger for the same extracted files does not scan again
    assert services.asset_scan(asset_id=asset.pk) == "current"


def test_a_threshold_change_rescans_and_changes_the_outcome(media):
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    services.asset_scan(asset_id=asset.pk)
    post = _post(author, asset.pk)
    assert post.status == Post.Status.PUBLISHED
    score = AssetCheck.objects.get(asset_id=asset.pk).features["nudity"]["score"]
    assert 0 < score < 0.45  # a synthetic test pattern: low, but a real model output

    rule = PolicyRule.objects.get(policy=Policy.NUDITY_SEXUAL)
    rule.age_restrict_at = score
    rule.save()
    tasks.rescan_assets.apply(args=[0, "test"])
    post.refresh_from_db()
    assert (post.status, post.age_restricted) == (Post.Status.PUBLISHED, True)
    assert AssetCheck.objects.get(asset_id=asset.pk).outcome == Outcome.AGE_RESTRICT

    rule.block_at = score
    rule.save()
    tasks.rescan_assets.apply(args=[0, "test"])
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert (case.source, case.policy) == ("automated", Policy.NUDITY_SEXUAL)
    assert case.evidence[-1]["outcome"] == Outcome.BLOCK
    removal = EnforcementAction.objects.get(target_type="post", target_id=post.pk,
                                            action="remove")
    assert removal.actor is None
    assert removal.case_id == case.pk
    assert Scan.objects.filter(target_type="asset", target_id=asset.pk,
                               trigger=Scan.Trigger.RESCAN).count() == 2


def test_the_admin_schedules_a_rescan_when_a_rule_changes(admin_client,
                                                         django_capture_on_commit_callbacks):
    rule = PolicyRule.objects.get(policy=Policy.SPAM_SCAM)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            f"/django-admin/moderation_detection/policyrule/{rule.pk}/change/",
            {"policy": Policy.SPAM_SCAM, "review_at": "0.8", "limit_reach_at": "0.5",
             "on_match": Outcome.REVIEW, "is_active": "on"})
    assert response.status_code == 302, response.content
    assert PolicyRule.objects.get(pk=rule.pk).review_at == 0.8
    # recorded in the task outbox, sent after the commit (kept if the broker is down)
    assert OutboxTask.objects.filter(task=tasks.rescan_assets.name).exists()
    assert callbacks


def test_adding_a_hash_list_entry_rescans_and_takes_down_a_published_match(media):
    author = UserFactory()
    asset = arrange_upload(author, media["altered"])
    services.asset_scan(asset_id=asset.pk)
    post = _post(author, asset.pk)
    assert post.status == Post.Status.PUBLISHED

    reference = arrange_upload(UserFactory(), media["original"])
    services.asset_scan(asset_id=reference.pk)
    listed = [f["variants"][0] for f in
              AssetCheck.objects.get(asset_id=reference.pk).features["pdq"]]
    services.hash_list_import(name="industry-list", policy=Policy.MINOR_SAFETY,
                              rows=[(h, "") for h in listed])
    tasks.rescan_assets.apply(args=[0, "list changed"])
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    evidence = evidence_for("post", post.pk)
    assert evidence["upload"]["outcome"] == Outcome.BLOCK
    assert evidence["upload"]["matches"][0]["detail"]["list"] == "industry-list"


def test_a_caption_that_a_term_list_blocks_is_removed_at_publish(
        media, django_capture_on_commit_callbacks):
    TermList.objects.create(name="scams", language="en", policy=Policy.SPAM_SCAM,
                            terms="crypto doubler", outcome=Outcome.BLOCK)
    author = UserFactory(language="en")
    asset = arrange_upload(author, media["original"])
    services.asset_scan(asset_id=asset.pk)
    with django_capture_on_commit_callbacks(execute=True):
        post = content.post_create(author=author, asset_id=asset.pk,
                                   caption="try my CRYPT0 D0UBLER today", language="en")
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    assert Case.objects.get(target_type="post", target_id=post.pk).policy == Policy.SPAM_SCAM


def test_limit_reach_from_the_caption_publishes_with_the_flag(
        media, django_capture_on_commit_callbacks):
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    services.asset_scan(asset_id=asset.pk)
    with django_capture_on_commit_callbacks(execute=True):
        post = content.post_create(author=author, asset_id=asset.pk,
                                   caption="deals at http://shop.example.com and www.cheap.xyz")
    post.refresh_from_db()
    assert (post.status, post.limited_reach, post.age_restricted) == \
        (Post.Status.PUBLISHED, True, False)


def test_a_review_outcome_opens_a_case_and_keeps_the_post_held(media):
    PolicyRule.objects.filter(policy=Policy.NUDITY_SEXUAL).update(review_at=0.0)
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    post = _post(author, asset.pk)
    services.asset_scan(asset_id=asset.pk)
    post.refresh_from_db()
    assert post.status == Post.Status.REVIEWING
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert case.source == "automated"
    assert case.status == "open"


def test_a_crashing_scan_is_retried_then_handed_to_people(media,
                                                          django_capture_on_commit_callbacks):
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    post = _post(author, asset.pk)
    for frame in (storage.asset_dir(asset.pk) / "moderation").glob("frame_*.jpg"):
        frame.write_bytes(b"\xff\xd8 not really a jpeg")  # the decoder will fail

    result = tasks.scan_asset.apply(args=[asset.pk]).get()
    assert result == "failed: sent to review"
    check = AssetCheck.objects.get(asset_id=asset.pk)
    assert check.state == AssetCheck.State.FAILED
    assert check.attempts == tasks.SCAN_MAX_RETRIES + 1
    assert Scan.objects.filter(target_type="asset", target_id=asset.pk, ok=False).count() \
        == tasks.SCAN_MAX_RETRIES + 1
    countdowns = [tasks.retry_countdown(n) for n in range(tasks.SCAN_MAX_RETRIES)]
    assert countdowns == sorted(countdowns)
    assert countdowns[0] < countdowns[-1]
    post.refresh_from_db()
    assert post.status == Post.Status.REVIEWING  # never published unchecked
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert case.source == "automated"
    assert "scan_failed" in case.evidence[-1]
    assert evidence_for("post", post.pk)["upload"]["state"] == "failed"

    # a person clears it: the post goes out
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_checks_clear(asset_id=asset.pk, reason="checked by hand")
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


def test_abusive_comments_and_profile_text_open_cases(media):
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    services.asset_scan(asset_id=asset.pk)
    post = _post(author, asset.pk)
    troll = UserFactory()
    comment = comment_create(author=troll, post=post, text="you are a fucking idiot")
    assert services.comment_scan(comment_id=comment.pk) == Outcome.REVIEW
    case = Case.objects.get(target_type="comment", target_id=comment.pk)
    assert case.policy == Policy.HATE_HARASSMENT

    TermList.objects.create(name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag",
                            outcome=Outcome.BLOCK)
    rude = comment_create(author=troll, post=post, text="what a SCUMBAG")
    assert services.comment_scan(comment_id=rude.pk) == Outcome.BLOCK
    assert EnforcementAction.objects.filter(target_type="comment", target_id=rude.pk,
                                            action="remove").exists()

    troll.bio = "scumbag central"
    troll.save()
    assert services.profile_scan(user_id=troll.pk, fields=["bio"]) == Outcome.BLOCK
    assert Case.objects.filter(target_type="user", target_id=troll.pk).exists()
    assert evidence_for("user", troll.pk)["scans"][0]["field"] == "bio"


def test_the_hooks_are_registered_with_the_lower_apps():
    from apps.accounts import hooks as accounts_hooks
    from apps.comments import hooks as comments_hooks
    from apps.content import hooks as content_hooks
    from apps.media import hooks as media_hooks
    from apps.moderation.detection import hooks

    assert hooks.asset_step_done in media_hooks._step_done_hooks
    assert hooks.publish_gate in content_hooks._publish_gates
    assert hooks.comment_created in comments_hooks._created_hooks
    assert hooks.profile_changed in accounts_hooks._profile_changed_hooks




def test_the_sweep_requeues_a_scan_whose_worker_died(media):
    from datetime import timedelta

    from django.utils import timezone

    asset = arrange_upload(UserFactory(), media["original"])
    AssetCheck.objects.create(asset=asset, state=AssetCheck.State.RUNNING)
    AssetCheck.objects.filter(asset=asset).update(
        updated_at=timezone.now() - services.RUNNING_STALE - timedelta(minutes=1))
    waiting = arrange_upload(UserFactory(), media["original"])
    AssetCheck.objects.create(asset=waiting)  # pending, just now: left alone

    from swipeme_site.celery import app

    try:
        assert services.checks_sweep() == {"revived": 1, "queued": 1, "fingerprints_pruned": 0}
    finally:
        # the queued message would find nothing outside this test's transaction; drop it
        app.control.purge()
    assert AssetCheck.objects.get(asset=asset).state == AssetCheck.State.PENDING
    assert services.asset_scan(asset_id=asset.pk) == Outcome.ALLOW


def test_a_new_term_list_rescans_published_captions(media):
    author = UserFactory()
    asset = arrange_upload(author, media["original"])
    services.asset_scan(asset_id=asset.pk)
    # a caption nothing flags at publishing (the text heads limit "selling followers cheap")
    # naming a fake-engagement seller that staff put on a term list afterwards
    post = _post(author, asset.pk, caption="holiday video 🌴 thanks glowfarm for the boost")
    assert post.status == Post.Status.PUBLISHED

    TermList.objects.create(name="fake engagement", policy=Policy.SPAM_SCAM,
                            terms="glowfarm", outcome=Outcome.BLOCK)
    tasks.rescan_assets.apply(args=[0, "term list added"])
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    caption_scans = Scan.objects.filter(target_type="post", target_id=post.pk, field="caption")
    assert [s.trigger for s in caption_scans.order_by("id")] == ["publish", "rescan"]


@pytest.mark.parametrize("model", ["policyrule", "detectionsettings", "hashlist", "hashentry",
                                   "termlist", "rightsclaim", "assetcheck", "scan"])
def test_every_detection_admin_page_renders(admin_client, media, model):
    asset = arrange_upload(UserFactory(), media["original"])
    services.asset_scan(asset_id=asset.pk)
    services.hash_list_import(name="l", policy=Policy.SPAM_SCAM, rows=[("a" * 64, "n")])
    TermList.objects.create(name="t", policy=Policy.SPAM_SCAM, terms="x")
    RightsClaim.objects.create(claimant="Label", reference="moderation/claims/ref.m4a")
    DetectionSettings.objects.get_or_create(pk=1)
    listing = admin_client.get(f"/django-admin/moderation_detection/{model}/")
    assert listing.status_code == 200
    row = listing.context["cl"].result_list[0]
    detail = admin_client.get(f"/django-admin/moderation_detection/{model}/{row.pk}/change/")
    assert detail.status_code == 200
